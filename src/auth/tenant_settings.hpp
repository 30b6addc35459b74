// A tenant as a municipality: what the server administrator says of one tenant (its name for
// people, its municipality code, the licence its open data is published under) and the limits
// it runs within (entities, requests per second, the browser origins it answers). Tenants
// still come into being with their first write (§4.14); settings are optional, and a tenant
// without them has no limits (docs/security.md, "Tenants"). Pure functions and a plain model;
// auth/tenants.hpp keeps the settings and applies them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "common/time.hpp"
#include "ngsild/query/restriction.hpp"

namespace tsunagu::auth {

// One rule of a role, as the administrator gives it: entities of one of `types` (expanded IRIs;
// empty: any), whose whole id matches `id_pattern` (empty: any) and whose scopes satisfy the
// scope query `scope_q` (§4.19; empty: any), for reading or for reading and writing.
struct RoleRule {
  bool write = false;
  std::vector<std::string> types;
  std::string id_pattern;
  std::string scope_q;
};

// A role a tenant defines (docs/security.md, "Roles"): what its holders may read and change.
struct Role {
  std::string name;
  std::string description;
  std::vector<RoleRule> rules;
  ngsild::query::RestrictionPtr restriction;  // the rules compiled (compile_role)
};

// Compiles `role.rules` into role.restriction. BadRequestData naming the rule that is wrong (a
// pattern RE2 does not take, a scope query that is not one).
Status compile_role(Role& role);

// Whether `name` may name a role: 1-64 letters, digits, '_' or '-', and none of the access
// levels and their role names (read, write, admin, reader, editor, administrator), which every
// tenant has.
bool valid_role_name(std::string_view name);

struct TenantSettings {
  std::string id;  // the tenant's name, as NGSILD-Tenant gives it
  std::string display_name;
  std::string municipality_code;   // e.g. a Japanese local government code ("401307")
  std::string licence;             // the URI of the licence its data is published under
  uint64_t max_entities = 0;       // 0: no quota
  double requests_per_second = 0;  // 0: no limit
  uint32_t burst = 0;              // requests taken at once; 0: one second's worth
  // Notifications sent to the tenant's subscribers per second, at most; 0: no limit. Those
  // beyond it wait their turn in their subscription's queue (docs/security.md, "Tenants").
  double notifications_per_second = 0;
  std::vector<std::string> cors_origins;  // origins a browser may call this tenant from
  bool public_read = false;               // anyone may read it without credentials (open data)
  std::vector<Role> roles;                // in the order given
  // Days of history the tenant keeps (docs/temporal.md, "Retention"); 0: all of it; -1: what
  // the server's options say (--history-retention-days, --history-retention-tenants).
  int64_t history_retention_days = -1;
  int64_t created_at = kNoTime;
  int64_t modified_at = kNoTime;

  // The requests a full bucket holds: at least one.
  double bucket_size() const;
  const Role* role(std::string_view name) const;  // null when the tenant has no such role
};

// The stored form (a store record's document): JSON.
std::string encode_tenant_settings(const TenantSettings& s);
// InternalError naming what is wrong when `doc` is not stored tenant settings.
Result<TenantSettings> decode_tenant_settings(std::string_view doc);

// Whether `origin` is an origin as browsers send it (RFC 6454 §6.1): scheme "http" or "https",
// "://", a host and an optional port, nothing else (no path, no trailing slash).
bool valid_origin(std::string_view origin);

}  // namespace tsunagu::auth
