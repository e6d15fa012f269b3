-- wrk script: autosaves (PUT /api/drafts/{id}) with the session cookie in COOKIE.
-- Each thread saves drafts of its own, in turn, never two saves of one draft at once (as a
-- browser's outbox never does); each save names the version it is based on (If-Match),
-- learned from the answer to the one before (the first creates the draft).
local drafts_per_thread = 400
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  versions = {}
  pending = {}
  counter = 0
  cookie = os.getenv("COOKIE")
end

local function draft_id(n)
  return string.format("00000000-0000-4000-8%03d-%012d", thread_id, n)
end

function request()
  local id
  repeat
    counter = counter + 1
    id = draft_id(counter % drafts_per_thread)
  until not pending[id]
  pending[id] = true
  local headers = { ["Content-Type"] = "application/json", ["Cookie"] = cookie }
  local version = versions[id]
  if version then
    headers["If-Match"] = '"' .. version .. '"'
  else
    headers["If-None-Match"] = "*"
  end
  local body = '{"title":"Autosave","body":"typed ' .. counter .. '"}'
  return wrk.format("PUT", "/api/drafts/" .. id, headers, body)
end

function response(status, headers, body)
  local id, version = string.match(body, '"id":"([^"]+)".-"version":(%d+)')
  if id then
    versions[id] = version
    pending[id] = nil
  end
end
