// Batch operations (/entityOperations/create, upsert, update, delete, merge; ETSI GS CIM 009
// §6.14-§6.17, §6.31) and Purge Entities (DELETE /entities, §6.4.3.3). A batch is parsed item by
// item (a bad item is reported, the others proceed) and committed in one transaction.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/json_writer.hpp"
#include "common/uri.hpp"
#include "http/api/api.hpp"
#include "http/problem.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::http::api {
namespace {

using engine::BatchItem;
using engine::BatchOp;
using engine::BatchOutcome;
namespace jsonld = ngsild::jsonld;

std::string_view op_name(BatchOp op) {
  switch (op) {
    case BatchOp::kCreate:
      return "create";
    case BatchOp::kUpsertReplace:
    case BatchOp::kUpsertUpdate:
      return "upsert";
    case BatchOp::kUpdate:
    case BatchOp::kUpdateNoOverwrite:
      return "update";
    case BatchOp::kMerge:
      return "merge";
    case BatchOp::kDelete:
      return "delete";
  }
  return "";
}

std::string batch_result(const std::vector<BatchItem>& items, const BatchOutcome& out) {
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("success");
  w.begin_array();
  for (size_t i = 0; i < items.size(); ++i) {
    if (out.status[i].ok()) w.string(items[i].id);
  }
  w.end_array();
  w.key("errors");
  w.begin_array();
  for (size_t i = 0; i < items.size(); ++i) {
    Status error = out.status[i];
    if (error.ok() && !out.kept[i].empty()) {
      // Updated, except for what noOverwrite kept: listed in both, as Append's 207 does
      // (§5.6.3, §5.6.9).
      std::string names;
      for (Atom a : out.kept[i])
        names += (names.empty() ? "" : ", ") + std::string(a.str());
      error = Status::AlreadyExists("noOverwrite kept the attributes that exist: " + names);
    }
    if (error.ok()) continue;
    w.begin_object();
    w.key("entityId");
    w.string(items[i].id);
    w.key("error");
    w.raw(problem_json(error));
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return body;
}

// Parses one array item into a BatchItem (never fails as a whole; faults stay with the item).
BatchItem parse_item(const JsonValue& v, BatchOp op, const Prepared& p, jsonld::ContextCache& cc) {
  BatchItem item;
  if (op == BatchOp::kDelete) {
    if (!v.IsString()) {
      item.error = Status::BadRequestData("each item must be an entity id (a URI)");
      return item;
    }
    item.error = ngsild::check_entity_id({v.GetString(), v.GetStringLength()});
    item.id.assign(v.GetString(), v.GetStringLength());
    return item;
  }
  if (!v.IsObject()) {
    item.error = Status::BadRequestData(std::string("each item must be an entity object, not ") +
                                        json_type_name(v));
    return item;
  }
  auto id = v.FindMember("id");
  if (id != v.MemberEnd() && id->value.IsString()) {
    item.id.assign(id->value.GetString(), id->value.GetStringLength());
  }
  jsonld::ContextPtr ctx = p.ctx;
  auto member = v.FindMember("@context");
  if (p.content == MediaType::kJsonLd) {
    if (member == v.MemberEnd()) {
      item.error = Status::BadRequestData(
          "with Content-Type application/ld+json every entity needs an @context member");
      return item;
    }
    auto resolved = cc.from_json(member->value);
    if (!resolved.ok()) {
      item.error = resolved.status();
      return item;
    }
    ctx = *resolved;
  } else if (member != v.MemberEnd()) {
    item.error =
        Status::BadRequestData("an @context member requires Content-Type application/ld+json");
    return item;
  }
  ngsild::ParseOptions po{ngsild::ParseMode::kEntity, true, true};
  if (op == BatchOp::kUpsertReplace || op == BatchOp::kUpsertUpdate) po.require_type = false;
  if (op == BatchOp::kUpdate || op == BatchOp::kUpdateNoOverwrite) {
    po = {ngsild::ParseMode::kFragment, true, false};
  }
  if (op == BatchOp::kMerge) po = {ngsild::ParseMode::kMerge, true, false};
  auto in = ngsild::parse_entity(v, *ctx, po);
  if (!in.ok()) {
    item.error = in.status();
    return item;
  }
  item.id = *in->id;
  item.input = std::move(*in);
  return item;
}

void run_batch(Env& env, std::shared_ptr<Prepared> p, BatchOp op) {
  const JsonValue& body = *p->body;
  std::vector<BatchItem> items;
  items.reserve(body.Size());
  for (const auto& v : body.GetArray())
    items.push_back(parse_item(v, op, *p, env.contexts));
  auto shared_items = std::make_shared<std::vector<BatchItem>>();
  for (const auto& i : items)
    shared_items->push_back({i.id, std::nullopt, i.error});
  env.entities.batch(
      p->tenant, op, std::move(items), [p, op, shared_items](const BatchOutcome& out) {
        bool all_ok =
            std::all_of(out.status.begin(), out.status.end(),
                        [](const Status& s) { return s.ok(); }) &&
            std::all_of(out.kept.begin(), out.kept.end(), [](const auto& k) { return k.empty(); });
        p->accept = MediaType::kJson;
        if (!all_ok) return p->respond_json(207, batch_result(*shared_items, out));
        bool any_created =
            std::any_of(out.created.begin(), out.created.end(), [](bool b) { return b; });
        if (op == BatchOp::kCreate ||
            (any_created && (op == BatchOp::kUpsertReplace || op == BatchOp::kUpsertUpdate))) {
          std::string ids;
          JsonWriter w(ids);
          w.begin_array();
          for (size_t i = 0; i < shared_items->size(); ++i) {
            if (out.created[i]) w.string((*shared_items)[i].id);
          }
          w.end_array();
          return p->respond_json(201, std::move(ids));
        }
        p->respond_empty(204);
      });
}

void batch(Env& env, Call&& c, BatchOp op) {
  static const CallSpec spec{
      true, {MediaType::kJson, MediaType::kJsonLd}, {}, {"options", "local"}};
  prepare(env, std::move(c), spec, [&env, op](Prepared&& p) {
    BatchOp actual = op;
    auto options = op == BatchOp::kUpsertReplace ? options_list(p.call.query, {"replace", "update"})
                   : op == BatchOp::kUpdate      ? options_list(p.call.query, {"noOverwrite"})
                                                 : options_list(p.call.query, {});
    if (!options.ok()) return p.fail(options.status());
    for (const auto& o : *options) {
      if (o == "update") actual = BatchOp::kUpsertUpdate;
      if (o == "noOverwrite") actual = BatchOp::kUpdateNoOverwrite;
    }
    if (options->size() > 1) {
      return p.fail(Status::BadRequestData("options: give only one of " + std::string(op_name(op)) +
                                           "'s options"));
    }
    const JsonValue& body = *p.body;
    if (!body.IsArray()) {
      return p.fail(Status::BadRequestData("the payload of " + std::string(op_name(op)) +
                                           " must be a JSON array"));
    }
    if (body.Empty()) return p.fail(Status::BadRequestData("the array is empty"));
    for (rapidjson::SizeType i = 0; i < body.Size(); ++i) {
      if (body[i].IsNull()) {
        return p.fail(Status::BadRequestData("item " + std::to_string(i) + " is null"));
      }
    }
    auto shared = std::make_shared<Prepared>(std::move(p));
    // Items may bring their own remote @contexts: load them off the event loop.
    bool remote = false;
    if (shared->content == MediaType::kJsonLd) {
      for (const auto& v : shared->body->GetArray()) {
        auto m = v.IsObject() ? v.FindMember("@context") : v.MemberEnd();
        if (v.IsObject() && m != v.MemberEnd() && env.contexts.may_fetch(m->value)) remote = true;
      }
    }
    if (remote) {
      boost::asio::post(env.blocking, [&env, shared, actual] { run_batch(env, shared, actual); });
    } else {
      run_batch(env, shared, actual);
    }
  });
}

}  // namespace

void create_batch(Env& env, Call&& c) {
  batch(env, std::move(c), BatchOp::kCreate);
}
void upsert_batch(Env& env, Call&& c) {
  batch(env, std::move(c), BatchOp::kUpsertReplace);
}
void update_batch(Env& env, Call&& c) {
  batch(env, std::move(c), BatchOp::kUpdate);
}
void delete_batch(Env& env, Call&& c) {
  batch(env, std::move(c), BatchOp::kDelete);
}
void merge_batch(Env& env, Call&& c) {
  batch(env, std::move(c), BatchOp::kMerge);
}

}  // namespace tsunagu::http::api
