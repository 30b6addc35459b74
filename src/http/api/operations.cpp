// Batch operations (/entityOperations/create, upsert, update, delete, merge; ETSI GS CIM 009
// §6.14-§6.17, §6.31) and Purge Entities (DELETE /entities, §6.4.3.3). A batch is parsed item by
// item (a bad item is reported, the others proceed) and committed in one transaction.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/json_writer.hpp"
#include "common/uri.hpp"
#include "http/api/api.hpp"
#include "http/api/federation.hpp"
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

// Parses one array item into a BatchItem (never fails as a whole; faults stay with the item);
// `used` is the @context its names were read with.
BatchItem parse_item(const JsonValue& v, BatchOp op, const Prepared& p, jsonld::ContextCache& cc,
                     jsonld::ContextPtr& used) {
  BatchItem item;
  used = p.ctx;
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
    used = ctx;
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

// The items of a batch that registered sources take (§4.3.6.3), one request per source.
struct SourceShares {
  std::vector<engine::RegistrationService::RegistrationPtr> sources;
  std::vector<std::string> items;             // per source: its items, comma-separated JSON
  std::vector<std::vector<std::string>> ids;  // per source: the entity ids in them

  void add(const engine::RegistrationService::RegistrationPtr& r, const std::string& id,
           std::string item) {
    size_t i = 0;
    while (i < sources.size() && sources[i] != r)
      ++i;
    if (i == sources.size()) {
      sources.push_back(r);
      items.emplace_back();
      ids.emplace_back();
    }
    if (!items[i].empty()) items[i] += ',';
    items[i] += item;
    ids[i].push_back(id);
  }
};

// Decides where each item of a batch is written: a redirect source takes the whole item and
// nothing is written here; an inclusive one gets a copy; an exclusive one gets the attributes
// it owns, which are then not written here (an item left without attributes is not written
// here; a delete is done here too). Items the sources take in full leave `items`.
SourceShares share_batch(Env& env, const Prepared& p, BatchOp op, std::vector<BatchItem>& items,
                         const std::vector<jsonld::ContextPtr>& contexts) {
  namespace reg = ngsild::registration;
  SourceShares shares;
  const JsonValue& body = *p.body;
  const std::string operation = std::string(op_name(op)) + "Batch";  // §4.20: "createBatch"
  std::vector<bool> here(items.size(), true);
  for (size_t i = 0; i < items.size(); ++i) {
    BatchItem& item = items[i];
    if (!item.error.ok() || item.id.empty()) continue;  // reported here
    reg::RegistrationQuery which;
    which.entities.ids = {item.id};
    if (item.input && !item.input->types.empty()) {
      ngsild::query::TypeSelection types;
      for (Atom t : item.input->types)
        types.groups.push_back({t});
      which.entities.types = std::move(types);
    } else {
      which.entities.types = local_types(env, p, item.id);
    }
    auto found = read_sources(env, p, {operation}, which);
    if (found.empty()) continue;
    const JsonValue& v = body[static_cast<rapidjson::SizeType>(i)];
    std::vector<std::string> taken;  // members exclusive sources took
    for (const auto& r : found) {
      if (r->mode != reg::Mode::kExclusive) continue;
      if (!v.IsObject()) {  // a delete: done there and here
        shares.add(r, item.id, json_text(v));
        continue;
      }
      std::string part;
      JsonWriter w(part);
      w.begin_object();
      bool any = false;
      for (const auto& m : v.GetObject()) {
        std::string_view key(m.name.GetString(), m.name.GetStringLength());
        const bool attribute = !entity_member(key);
        if (attribute && !owns(*r, item.id, contexts[i]->expand(key))) continue;
        w.key(key);
        w.raw(json_text(m.value));
        if (attribute) {
          any = true;
          taken.emplace_back(key);
        }
      }
      w.end_object();
      if (any) shares.add(r, item.id, std::move(part));
    }
    if (!taken.empty()) {
      // What exclusive sources took is not written here.
      auto& attrs = item.input->attrs;
      for (const auto& key : taken) {
        const Atom name = contexts[i]->expand(key);
        attrs.erase(std::remove_if(attrs.begin(), attrs.end(),
                                   [name](const auto& a) { return a.name == name; }),
                    attrs.end());
      }
      if (attrs.empty()) here[i] = false;
    }
    std::string rest;
    if (v.IsObject() && !taken.empty()) {
      JsonWriter w(rest);
      w.begin_object();
      for (const auto& m : v.GetObject()) {
        std::string_view key(m.name.GetString(), m.name.GetStringLength());
        if (std::find(taken.begin(), taken.end(), key) != taken.end()) continue;
        w.key(key);
        w.raw(json_text(m.value));
      }
      w.end_object();
    } else {
      rest = json_text(v);
    }
    for (const auto& r : found) {
      if (r->mode == reg::Mode::kExclusive || r->mode == reg::Mode::kAuxiliary) continue;
      if (!taken.empty() && !here[i]) continue;  // nothing left for them
      if (r->mode == reg::Mode::kRedirect) here[i] = false;
      shares.add(r, item.id, rest);
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!here[i]) continue;
    if (kept != i) items[kept] = std::move(items[i]);
    ++kept;
  }
  items.resize(kept);
  return shares;
}

// Answers a batch whose items went to sources as well as here: the usual answer when every
// part succeeded, else 207 with what each did.
void answer_distributed(Prepared& p, BatchOp op, const std::vector<BatchItem>& items,
                        const BatchOutcome* out, const std::vector<SourceAnswer>& answers,
                        const SourceShares& shares) {
  DistributedResult result;
  bool created = false;
  for (size_t i = 0; out != nullptr && i < items.size(); ++i) {
    Status error = out->status[i];
    if (error.ok() && !out->kept[i].empty()) {
      error = Status::AlreadyExists("noOverwrite kept attributes that exist");
    }
    if (error.ok()) {
      result.succeeded(items[i].id);
      created = created || out->created[i];
    } else {
      result.failed(items[i].id, nullptr, problem_json(error));
    }
  }
  for (size_t s = 0; s < answers.size(); ++s) {
    result.add_source(answers[s], shares.ids[s]);
    created = created || answers[s].outcome.status == 201;
  }
  p.accept = MediaType::kJson;
  if (result.any_failed()) return p.respond_json(207, result.body());
  if (op == BatchOp::kCreate ||
      (created && (op == BatchOp::kUpsertReplace || op == BatchOp::kUpsertUpdate))) {
    std::string ids;
    JsonWriter w(ids);
    w.begin_array();
    for (const auto& id : result.successes())
      w.string(id);
    w.end_array();
    return p.respond_json(201, std::move(ids));
  }
  p.respond_empty(204);
}

void run_batch(Env& env, std::shared_ptr<Prepared> p, BatchOp op) {
  const JsonValue& body = *p->body;
  std::vector<BatchItem> items;
  std::vector<jsonld::ContextPtr> contexts(body.Size());
  items.reserve(body.Size());
  for (rapidjson::SizeType i = 0; i < body.Size(); ++i)
    items.push_back(parse_item(body[i], op, *p, env.contexts, contexts[i]));
  if (may_forward(env, *p)) {
    auto shares = std::make_shared<SourceShares>(share_batch(env, *p, op, items, contexts));
    if (!shares->sources.empty()) {
      std::vector<Forward> requests;
      for (const auto& part : shares->items) {
        requests.push_back({"POST", forwarded_path(*p), "[" + part + "]",
                            std::string(p->call.req.header("content-type"))});
      }
      auto local = std::make_shared<std::vector<BatchItem>>(std::move(items));
      fan_out(env, *p, shares->sources, std::move(requests),
              [&env, p, op, shares, local](std::vector<SourceAnswer> answers) {
                if (local->empty()) {
                  return answer_distributed(*p, op, *local, nullptr, answers, *shares);
                }
                std::vector<BatchItem> mine;
                for (const auto& i : *local)
                  mine.push_back({i.id, std::nullopt, i.error});
                auto ids = std::make_shared<std::vector<BatchItem>>(std::move(mine));
                env.entities.batch(
                    p->tenant, p->restriction, op, std::move(*local),
                    [p, op, shares, ids, answers = std::move(answers)](const BatchOutcome& out) {
                      answer_distributed(*p, op, *ids, &out, answers, *shares);
                    });
              });
      return;
    }
  }
  auto shared_items = std::make_shared<std::vector<BatchItem>>();
  for (const auto& i : items)
    shared_items->push_back({i.id, std::nullopt, i.error});
  env.entities.batch(
      p->tenant, p->restriction, op, std::move(items),
      [p, op, shared_items](const BatchOutcome& out) {
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
    if (refused_loop(env, p)) return;
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
