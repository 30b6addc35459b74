// Handlers for /ngsi-ld/v1/entities/{entityId} and its attributes (ETSI GS CIM 009 §5.6, §5.7.1;
// HTTP binding §6.4-§6.7). Each handler: prepare, parse, execute on the engine, respond.
#include <memory>

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "common/uri.hpp"
#include "http/api/api.hpp"
#include "http/api/federation.hpp"
#include "ngsild/format/linked_entities.hpp"
#include "ngsild/format/representation.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::http::api {
namespace {

using engine::Target;
using engine::UpdateOutcome;
using ngsild::ParseMode;
using ngsild::ParseOptions;

const std::vector<MediaType> kJsonBodies = {MediaType::kJson, MediaType::kJsonLd};
const std::vector<MediaType> kEntityViews = {MediaType::kJson, MediaType::kJsonLd,
                                             MediaType::kGeoJson};

// The entity id of the path, which must be a URI (§5.5.2 BadRequestData otherwise).
Result<std::string> path_id(const Prepared& p) {
  const std::string& id = p.call.params.at(0);
  TSUNAGU_RETURN_IF_ERROR(ngsild::check_entity_id(id, "entity id"));
  return id;
}

Result<Target> target_of(const Prepared& p) {
  auto id = path_id(p);
  if (!id.ok()) return id.status();
  Target t{p.tenant, std::move(*id), std::nullopt, p.restriction};
  if (const std::string* type = p.call.query.find("type")) {
    auto selection = ngsild::query::parse_type_selection(*type, *p.ctx);
    if (!selection.ok()) return selection.status();
    t.type = std::move(*selection);
  }
  return t;
}

// A payload id, when present, must name the entity of the path.
Status same_id(const ngsild::EntityInput& in, const Target& t) {
  if (in.id && *in.id != t.id) {
    return Status::BadRequestData("id: the payload names '" + *in.id + "' but the path names '" +
                                  t.id + "'");
  }
  return Status::Ok();
}

// The attribute named in the path, expanded; BadRequestData for a name no attribute may have,
// before anything is looked up (§4.6.2).
Result<Atom> attr_name(const Prepared& p) {
  const std::string& name = p.call.params.at(1);
  if (!ngsild::valid_name(name)) {
    return Status::BadRequestData("'" + name.substr(0, 200) + "' is not a valid attribute name");
  }
  return p.ctx->expand(name);
}

std::string update_result(const UpdateOutcome& out) {
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("updated");
  w.begin_array();
  for (Atom a : out.updated)
    w.string(a.str());
  w.end_array();
  w.key("notUpdated");
  w.begin_array();
  for (const auto& [name, reason] : out.not_updated) {
    w.begin_object();
    w.key("attributeName");
    w.string(name.str());
    w.key("reason");
    w.string(reason);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return body;
}

// Shared completion of write operations: 204, or the problem.
engine::EntityService::Done no_content(std::shared_ptr<Prepared> p) {
  return [p](const Status& st) {
    if (!st.ok()) return p->fail(st);
    p->respond_empty(204);
  };
}

engine::EntityService::DoneUpdate no_content_or_207(std::shared_ptr<Prepared> p) {
  return [p](const Status& st, const UpdateOutcome& out) {
    if (!st.ok()) return p->fail(st);
    if (out.not_updated.empty()) return p->respond_empty(204);
    p->accept = MediaType::kJson;
    p->respond_json(207, update_result(out));
  };
}

}  // namespace

namespace {

// A write of the entity of the path (or, for create, of the payload) and, with `attribute`, of
// the attribute of the path, sent first to the registered sources it concerns (federation.hpp);
// `local` writes what is left here.
void through_sources(Env& env, Prepared&& p, const char* op, bool attribute, bool body_attributes,
                     std::function<void(Prepared&&)> local) {
  WriteTarget t;
  t.op = op;
  if (!p.call.params.empty()) {
    t.id = p.call.params.at(0);
  } else if (p.body && p.body->IsObject()) {
    auto id = p.body->FindMember("id");
    if (id == p.body->MemberEnd() || !id->value.IsString()) return local(std::move(p));
    t.id.assign(id->value.GetString(), id->value.GetStringLength());
  }
  if (attribute && p.call.params.size() > 1) {
    t.path_attribute = true;
    t.attribute = p.ctx->lookup(p.call.params.at(1));
  }
  t.body_attributes = body_attributes;
  if (attribute && p.body) {
    // The body is the attribute of the path (partial update or replacement).
    const ParseMode mode =
        std::string_view(op) == "updateAttrs" ? ParseMode::kMerge : ParseMode::kFragment;
    t.check = [mode](const Prepared& p) {
      auto name = attr_name(p);
      if (!name.ok()) return name.status();
      auto frag = ngsild::parse_attribute_fragment(*p.body, *name, *p.ctx, mode);
      return frag.ok() ? Status::Ok() : frag.status();
    };
  } else if (body_attributes) {
    const std::string_view name = op;
    const ParseMode mode = name == "createEntity"   ? ParseMode::kEntity
                           : name == "mergeEntity"  ? ParseMode::kMerge
                           : name == "updateEntity" ? ParseMode::kUpdate
                                                    : ParseMode::kFragment;
    t.check = [mode](const Prepared& p) {
      auto in = ngsild::parse_entity(
          *p.body, *p.ctx,
          ParseOptions{mode, mode == ParseMode::kEntity, mode == ParseMode::kEntity});
      return in.ok() ? Status::Ok() : in.status();
    };
  }
  distribute_write(env, std::move(p), std::move(t), std::move(local));
}

}  // namespace

void create_entity(Env& env, Call&& c) {
  static const CallSpec spec{true, kJsonBodies, {}, {"local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    through_sources(env, std::move(p), "createEntity", false, true, [&env](Prepared&& p) {
      auto in = ngsild::parse_entity(*p.body, *p.ctx, ParseOptions{ParseMode::kEntity});
      if (!in.ok()) return p.fail(in.status());
      std::string location = "/ngsi-ld/v1/entities/" + percent_encode_segment(*in->id);
      auto shared = std::make_shared<Prepared>(std::move(p));
      env.entities.create(shared->tenant, shared->restriction, std::move(*in),
                          [shared, location](const Status& st) {
                            if (!st.ok()) return shared->fail(st);
                            shared->respond_empty(201, {{"Location", location}});
                          });
    });
  });
}

namespace {

// Retrieve Entity's answer: 404 when attrs, pick or omit leave nothing of `entity`.
void respond_entity(Prepared& p, const ngsild::Entity& entity, ngsild::RenderOptions& options,
                    ngsild::RenderCache& renders, std::vector<Header> extra) {
  // attrs: the entity must hold at least one of the listed attributes (§6.3.18 note); a
  // pick or omit that leaves nothing of it finds nothing either.
  if (p.call.query.find("attrs") != nullptr) {
    bool any = false;
    for (Atom a : options.projection.pick_attrs)
      any = any || !entity.instances(a).empty();
    if (!any) {
      return p.fail(
          Status::NotFound("entity '" + entity.id + "' has none of the attributes in attrs"));
    }
  } else if (!ngsild::keeps_any(entity, options.projection)) {
    return p.fail(Status::NotFound("entity '" + entity.id +
                                   "' has none of the members that pick or omit leave"));
  }
  std::string body;
  body.reserve(2048);
  JsonWriter w(body);
  ngsild::render_entity_body(entity, options, body_shape(p), renders, w);
  if (Status st = ngsild::join_complete(options); !st.ok()) return p.fail(st);
  p.respond_json(200, std::move(body), std::move(extra));
}

}  // namespace

void retrieve_entity(Env& env, Call&& c) {
  static const CallSpec spec{
      false,
      {},
      kEntityViews,
      {"type", "attrs", "pick", "omit", "options", "format", "lang", "datasetId",
       "geometryProperty", "local", "join", "joinLevel", "containedBy"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    auto t = target_of(p);
    if (!t.ok()) return p.fail(t.status());
    auto options = render_options(p, true);
    if (!options.ok()) return p.fail(options.status());
    auto e = env.entities.retrieve(*t, *options);
    // Registered sources that may hold some of it (§4.3.6): asked, and merged in.
    std::vector<engine::RegistrationService::RegistrationPtr> sources;
    if (may_forward(env, p)) {
      ngsild::registration::RegistrationQuery which;
      which.entities.ids = {t->id};
      which.entities.types = t->type;
      if (p.call.query.find("attrs") != nullptr)
        which.entities.attrs = options->projection.pick_attrs;
      sources = read_sources(env, p, {"retrieveEntity", "queryEntity", "queryBatch"}, which);
    }
    if (sources.empty()) {
      if (!e.ok()) return p.fail(e.status());
      return respond_entity(p, **e, *options, env.renders, {});
    }
    auto shared = std::make_shared<Prepared>(std::move(p));
    auto local = e.ok() ? *e : nullptr;
    const std::string id = t->id;
    std::vector<Forward> requests;
    for (const auto& r : sources) {
      requests.push_back(retrieve_request(*r, id, shared->call.query.find("type"),
                                          shared->call.query, *shared->ctx));
    }
    fan_out(env, *shared, sources, std::move(requests),
            [shared, local, options = std::move(*options),
             id](std::vector<SourceAnswer> answers) mutable {
              std::shared_ptr<ngsild::Entity> merged;
              if (local) merged = std::make_shared<ngsild::Entity>(*local);
              auxiliary_last(answers);
              for (auto& a : answers) {
                if (!a.outcome.ok()) continue;
                auto remote = source_entities(a.outcome.body, *shared->ctx);
                if (!remote.ok()) {
                  a.outcome.error = remote.status().detail();
                  continue;
                }
                for (auto& entity : *remote) {
                  if (entity->id != id) continue;
                  if (!merged) {
                    merged = std::move(entity);
                  } else {
                    merge_entity(*merged, *entity, a.registration->mode);
                  }
                }
              }
              if (!merged) {
                return shared->fail(Status::NotFound("entity '" + id + "' was not found here " +
                                                     "or at the registered sources"));
              }
              // The sources' attribute names are known now: the projection is read again.
              auto fresh = render_options(*shared, true);
              // A merged entity is this answer's only: not kept among the renderings.
              static ngsild::RenderCache kNotKept(0);
              respond_entity(*shared, *merged, fresh.ok() ? *fresh : options, kNotKept,
                             source_warnings(answers));
            });
  });
}

void delete_entity(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, {}, {"type", "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    through_sources(env, std::move(p), "deleteEntity", false, false, [&env](Prepared&& p) {
      auto t = target_of(p);
      if (!t.ok()) return p.fail(t.status());
      auto shared = std::make_shared<Prepared>(std::move(p));
      env.entities.remove(std::move(*t), no_content(shared));
    });
  });
}

void replace_entity(Env& env, Call&& c) {
  static const CallSpec spec{true, kJsonBodies, {}, {"type", "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    through_sources(env, std::move(p), "replaceEntity", false, true, [&env](Prepared&& p) {
      auto t = target_of(p);
      if (!t.ok()) return p.fail(t.status());
      auto in =
          ngsild::parse_entity(*p.body, *p.ctx, ParseOptions{ParseMode::kFragment, false, false});
      if (!in.ok()) return p.fail(in.status());
      if (Status st = same_id(*in, *t); !st.ok()) return p.fail(st);
      auto shared = std::make_shared<Prepared>(std::move(p));
      env.entities.replace(std::move(*t), std::move(*in), no_content(shared));
    });
  });
}

void merge_entity(Env& env, Call&& c) {
  static const CallSpec spec{true,
                             {MediaType::kJson, MediaType::kJsonLd, MediaType::kMergePatch},
                             {},
                             {"type", "observedAt", "lang", "local", "options", "format"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    through_sources(env, std::move(p), "mergeEntity", false, true, [&env](Prepared&& p) {
      auto t = target_of(p);
      if (!t.ok()) return p.fail(t.status());
      engine::MergeOptions options;
      if (const std::string* v = p.call.query.find("lang")) options.lang = *v;
      if (const std::string* v = p.call.query.find("observedAt")) {
        options.observed_at = parse_datetime(*v);
        if (!options.observed_at) {
          return p.fail(
              Status::BadRequestData("observedAt: '" + *v + "' is not an ISO 8601 date-time"));
        }
      }
      auto in =
          ngsild::parse_entity(*p.body, *p.ctx, ParseOptions{ParseMode::kMerge, false, false});
      if (!in.ok()) return p.fail(in.status());
      if (Status st = same_id(*in, *t); !st.ok()) return p.fail(st);
      auto shared = std::make_shared<Prepared>(std::move(p));
      env.entities.merge(std::move(*t), std::move(*in), std::move(options), no_content(shared));
    });
  });
}

void append_attrs(Env& env, Call&& c) {
  static const CallSpec spec{true, kJsonBodies, {}, {"type", "options", "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    through_sources(env, std::move(p), "appendAttrs", false, true, [&env](Prepared&& p) {
      auto t = target_of(p);
      if (!t.ok()) return p.fail(t.status());
      auto options = options_list(p.call.query, {"noOverwrite"});
      if (!options.ok()) return p.fail(options.status());
      auto in =
          ngsild::parse_entity(*p.body, *p.ctx, ParseOptions{ParseMode::kFragment, false, false});
      if (!in.ok()) return p.fail(in.status());
      if (Status st = same_id(*in, *t); !st.ok()) return p.fail(st);
      bool no_overwrite = !options->empty();
      auto shared = std::make_shared<Prepared>(std::move(p));
      env.entities.append(std::move(*t), std::move(*in), no_overwrite, no_content_or_207(shared));
    });
  });
}

void update_entity(Env& env, Call&& c) {
  static const CallSpec spec{true, kJsonBodies, {}, {"type", "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    through_sources(env, std::move(p), "updateEntity", false, true, [&env](Prepared&& p) {
      auto t = target_of(p);
      if (!t.ok()) return p.fail(t.status());
      auto in =
          ngsild::parse_entity(*p.body, *p.ctx, ParseOptions{ParseMode::kUpdate, false, false});
      if (!in.ok()) return p.fail(in.status());
      if (Status st = same_id(*in, *t); !st.ok()) return p.fail(st);
      auto shared = std::make_shared<Prepared>(std::move(p));
      env.entities.update(std::move(*t), std::move(*in), no_content_or_207(shared));
    });
  });
}

void update_attrs(Env& env, Call&& c) {
  // A partial update is a merge of one attribute: merge-patch+json is its own media type.
  static const CallSpec spec{
      true, {MediaType::kJson, MediaType::kJsonLd, MediaType::kMergePatch}, {}, {"type", "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    through_sources(env, std::move(p), "updateAttrs", true, false, [&env](Prepared&& p) {
      auto t = target_of(p);
      if (!t.ok()) return p.fail(t.status());
      auto name = attr_name(p);
      if (!name.ok()) return p.fail(name.status());
      auto frag = ngsild::parse_attribute_fragment(*p.body, *name, *p.ctx, ParseMode::kMerge);
      if (!frag.ok()) return p.fail(frag.status());
      auto shared = std::make_shared<Prepared>(std::move(p));
      env.entities.partial_update_attribute(std::move(*t), *name, std::move(*frag),
                                            no_content(shared));
    });
  });
}

void replace_attrs(Env& env, Call&& c) {
  static const CallSpec spec{true, kJsonBodies, {}, {"type", "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    through_sources(env, std::move(p), "replaceAttrs", true, false, [&env](Prepared&& p) {
      auto t = target_of(p);
      if (!t.ok()) return p.fail(t.status());
      auto name = attr_name(p);
      if (!name.ok()) return p.fail(name.status());
      auto frag = ngsild::parse_attribute_fragment(*p.body, *name, *p.ctx, ParseMode::kFragment);
      if (!frag.ok()) return p.fail(frag.status());
      auto shared = std::make_shared<Prepared>(std::move(p));
      env.entities.replace_attribute(std::move(*t), *name, std::move(*frag), no_content(shared));
    });
  });
}

void delete_attrs(Env& env, Call&& c) {
  static const CallSpec spec{false, {}, {}, {"type", "datasetId", "deleteAll", "local"}};
  prepare(env, std::move(c), spec, [&env](Prepared&& p) {
    through_sources(env, std::move(p), "deleteAttrs", true, false, [&env](Prepared&& p) {
      auto t = target_of(p);
      if (!t.ok()) return p.fail(t.status());
      auto name = attr_name(p);
      if (!name.ok()) return p.fail(name.status());
      std::optional<Atom> dataset;
      if (const std::string* d = p.call.query.find("datasetId")) {
        if (*d != "@none") {
          if (!is_absolute_uri(*d)) {
            return p.fail(Status::BadRequestData("datasetId: '" + *d + "' is not a URI"));
          }
          dataset = Atom::intern(*d);
        }
      }
      auto all = flag_param(p.call.query, "deleteAll");
      if (!all.ok()) return p.fail(all.status());
      if (*all && dataset) {
        return p.fail(Status::BadRequestData("deleteAll=true and datasetId cannot be combined"));
      }
      auto shared = std::make_shared<Prepared>(std::move(p));
      env.entities.delete_attribute(std::move(*t), *name, dataset, *all, no_content(shared));
    });
  });
}

}  // namespace tsunagu::http::api
