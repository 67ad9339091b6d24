// The floor of any Node CLI that runs a command: start, load child_process,
// spawn `true`, wait for it. Compared with `waitlock X --exec true` in bench/cli.mjs.
"use strict";
require("node:child_process").spawn("true", [], { stdio: "inherit" });
