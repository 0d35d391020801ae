-- wrk script: each request picks a random path from the file named by WRK_PATHS
-- (one path a line) and sends the cookie in WRK_COOKIE, if any.
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do
  paths[#paths + 1] = line
end
local cookie = os.getenv("WRK_COOKIE") or ""
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  -- each wrk thread draws its own sequence
  math.randomseed(os.time() * 1000 + (id or 0))
  if cookie ~= "" then
    wrk.headers["Cookie"] = cookie
  end
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
