-- Argo CD health check for berth.dev/Certificate (resource.customizations.health.berth.dev_Certificate).
-- Reads berth's kstatus-style status: observedGeneration and the Ready / Reconciling / Stalled
-- conditions. Installed through manifests/argocd/argocd-cm-patch.yaml.

-- BEGIN berth common: identical in every berth.dev_*.lua (a test checks it). Lua 5.1 subset,
-- because Argo CD runs these scripts in gopher-lua. Each check returns a result or nil.
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

-- Suspension is the user's choice and outranks everything berth reports.
local function suspended(o)
  if o.spec ~= nil and o.spec.suspend == true then
    return {status = "Suspended", message = o.kind .. " is suspended: berth makes no provider writes until spec.suspend is unset"}
  end
  return nil
end

-- Until berth has written status for the current generation, nothing else in status is news.
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

local function stalled(o)
  local c = condition(o, "Stalled")
  if c ~= nil and c.status == "True" then
    return {status = "Degraded", message = text(c, "Stalled")}
  end
  return nil
end

local function reconciling(o)
  local c = condition(o, "Reconciling")
  if c ~= nil and c.status == "True" then
    return {status = "Progressing", message = text(c, "Reconciling")}
  end
  return nil
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
-- END berth common

-- The live endpoint serving some other certificate is an outage in waiting, whatever Ready says.
local function served(o)
  local s = o.status.served
  if s ~= nil and s.matches == false then
    return {status = "Degraded", message = "The endpoint serves a different certificate (serial " .. tostring(s.serialNumber or "unknown") .. ", expires " .. tostring(s.notAfter or "unknown") .. ")"}
  end
  return nil
end

local function valid(o)
  local c = condition(o, "Ready")
  if c ~= nil and c.status == "True" and o.status.notAfter ~= nil then
    return {status = "Healthy", message = text(c, "Ready") .. " (expires " .. o.status.notAfter .. ")"}
  end
  return nil
end

return suspended(obj) or unobserved(obj) or stalled(obj) or served(obj) or reconciling(obj) or valid(obj) or ready(obj)
