-- Argo CD health check for every berth.dev kind: BackupPolicy, Certificate, Deployment, Domain
-- and Environment. Reads berth's kstatus-style status (observedGeneration and the Ready /
-- Reconciling / Stalled conditions), then what only one kind reports, chosen by obj.kind.
--
-- Argo CD takes one script per kind and has no `require`, so argocd-cm-patch.yaml beside this
-- file installs this same script, byte for byte, under one key per kind
-- (resource.customizations.health.berth.dev_<Kind>):
--
--   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file manifests/argocd/argocd-cm-patch.yaml
--
-- After editing this file, regenerate the patch with
--   BERTH_BLESS=1 cargo test --test integration health_scripts
-- Lua 5.1 subset, because Argo CD runs it in gopher-lua. Each check returns a result or nil; the
-- first result wins.

local function condition(o, ctype)
  if o.status == nil or o.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(o.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function text(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

local function int(n)
  return tostring(math.floor(n))
end

-- Common checks, for every kind.

-- Suspension is the user's choice and outranks everything berth reports.
local function suspended(o)
  if o.spec ~= nil and o.spec.suspend == true then
    return {status = "Suspended", message = o.kind .. " is suspended: berth makes no provider writes until spec.suspend is unset"}
  end
  return nil
end

-- Until berth has written status for the current generation, nothing else in status is news.
-- Every check after this one may rely on o.status being present.
local function unobserved(o)
  if o.status == nil or o.status.observedGeneration == nil then
    return {status = "Progressing", message = "Waiting for berth to observe the " .. o.kind}
  end
  local gen = o.metadata.generation
  if gen ~= nil and o.status.observedGeneration < gen then
    return {status = "Progressing", message = "Waiting for berth to observe generation " .. int(gen) .. " (status is for generation " .. int(o.status.observedGeneration) .. ")"}
  end
  return nil
end

-- The health `status` with the condition's text while condition `ctype` is True, else nil.
local function while_true(o, ctype, status)
  local c = condition(o, ctype)
  if c ~= nil and c.status == "True" then
    return {status = status, message = text(c, ctype)}
  end
  return nil
end

local function stalled(o)
  return while_true(o, "Stalled", "Degraded")
end

local function reconciling(o)
  return while_true(o, "Reconciling", "Progressing")
end

local function ready(o)
  local c = condition(o, "Ready")
  if c == nil then
    return {status = "Progressing", message = "Waiting for the Ready condition"}
  end
  if c.status == "True" then
    return {status = "Healthy", message = text(c, "Ready")}
  end
  if c.status == "False" then
    return {status = "Degraded", message = text(c, "Not ready")}
  end
  return {status = "Progressing", message = text(c, "Readiness unknown")}
end

-- BackupPolicy: a backup is only as good as its last restore; a failed verification is Degraded.
local function verification(o)
  local v = o.status.lastVerification
  if v ~= nil and v.passed == false then
    local msg = "Restore verification of backup " .. tostring(v.backupId) .. " failed"
    if v.failedChecks ~= nil and #v.failedChecks > 0 then
      msg = msg .. ": " .. table.concat(v.failedChecks, ", ")
    end
    return {status = "Degraded", message = msg}
  end
  return nil
end

-- Certificate: the live endpoint serving some other certificate is an outage in waiting,
-- whatever Ready says.
local function served(o)
  local s = o.status.served
  if s ~= nil and s.matches == false then
    return {status = "Degraded", message = "The endpoint serves a different certificate (serial " .. tostring(s.serialNumber or "unknown") .. ", expires " .. tostring(s.notAfter or "unknown") .. ")"}
  end
  return nil
end

-- Certificate: a healthy certificate says when it expires.
local function valid(o)
  local c = condition(o, "Ready")
  if c ~= nil and c.status == "True" and o.status.notAfter ~= nil then
    return {status = "Healthy", message = text(c, "Ready") .. " (expires " .. o.status.notAfter .. ")"}
  end
  return nil
end

-- Deployment: a rolled-back Deployment is Held. The bad revision is not retried until the spec
-- changes, and Git should be reverted to the good one.
local function held(o)
  if o.status.phase ~= "Held" then
    return nil
  end
  local msg = "Held: revision " .. tostring(o.status.heldRevision or "(unknown)") .. " failed and was rolled back"
  local good = nil
  if o.status.lastRollback ~= nil then
    good = o.status.lastRollback.toRevision
  end
  if good == nil and o.status.current ~= nil then
    good = o.status.current.revision
  end
  if good ~= nil then
    msg = msg .. " to " .. good .. "; revert Git to " .. good
  end
  return {status = "Degraded", message = msg .. " or change spec.source to release again"}
end

local progressing_phases = {Building = "Building", Deploying = "Deploying", Verifying = "Verifying health of"}

-- Deployment: a release in flight or a rollback under way is Progressing; one that failed
-- without a rollback is Degraded.
local function phase(o)
  local p = o.status.phase
  if p == "Failed" then
    local c = condition(o, "Ready")
    return {status = "Degraded", message = text(c, "The release failed and was not rolled back")}
  end
  if p == "RollingBack" then
    local rb = o.status.rollingBack
    local fallback = "Rolling back"
    if rb ~= nil then
      fallback = "Rolling back revision " .. tostring(rb.fromRevision) .. " to " .. tostring(rb.toRevision) .. " (" .. tostring(rb.reason) .. ")"
    end
    return {status = "Progressing", message = text(condition(o, "Ready"), fallback)}
  end
  local verb = progressing_phases[p]
  if verb ~= nil then
    local rev = "the release"
    if o.status.pending ~= nil and o.status.pending.revision ~= nil then
      rev = "revision " .. o.status.pending.revision
    end
    return {status = "Progressing", message = verb .. " " .. rev}
  end
  return nil
end

-- Domain: platform verification and DNS propagation take minutes to hours; a domain waiting on
-- them is on its way, not broken.
local function waiting(o)
  local c = condition(o, "Ready")
  if c ~= nil and c.status == "True" then
    return nil
  end
  local v = o.status.verification
  if v ~= nil and v.state == "Pending" then
    return {status = "Progressing", message = "Waiting for platform verification of " .. tostring(o.spec.hostname) .. (v.message and (": " .. v.message) or "")}
  end
  local p = o.status.propagation
  if p ~= nil and p.state == "Pending" then
    return {status = "Progressing", message = "Waiting for DNS propagation of " .. tostring(o.spec.hostname) .. (p.message and (": " .. p.message) or "")}
  end
  return nil
end

-- Environment: drift that the Report policy leaves in place is worth seeing on a healthy
-- environment.
local function drift(o)
  local c = condition(o, "Ready")
  local n = o.status.driftCount
  if c ~= nil and c.status == "True" and n ~= nil and n > 0 then
    return {status = "Healthy", message = int(n) .. " variable(s) differ from the declared values (driftPolicy: " .. tostring(o.spec.driftPolicy or "Correct") .. ")"}
  end
  return nil
end

-- The checks of each kind, in order. A kind not listed (say, one added to berth after this
-- script was installed) gets the common checks alone.
local common = {suspended, unobserved, stalled, reconciling, ready}
local checks = {
  BackupPolicy = {suspended, unobserved, stalled, verification, reconciling, ready},
  Certificate = {suspended, unobserved, stalled, served, reconciling, valid, ready},
  Deployment = {suspended, unobserved, held, stalled, phase, reconciling, ready},
  Domain = {suspended, unobserved, stalled, reconciling, waiting, ready},
  Environment = {suspended, unobserved, stalled, reconciling, drift, ready},
}

-- `ready` always answers, so the loop always returns.
for _, check in ipairs(checks[obj.kind] or common) do
  local result = check(obj)
  if result ~= nil then
    return result
  end
end
