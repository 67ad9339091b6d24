#!/bin/sh
# `npm start`: the WASM core's self-test, then waitlock doing its job in a
# throw-away lock directory, the way a shell script uses it.
set -u
export PATH="$(cd "$(dirname "$0")/.." && pwd)/bin:$PATH"
WAITLOCK_DIR=$(mktemp -d) && export WAITLOCK_DIR
trap 'rm -rf "$WAITLOCK_DIR"' EXIT

node --import tsx "$(dirname "$0")/selftest.ts" || exit 1
echo "\$ waitlock --version"; waitlock --version
echo "\$ waitlock backup --exec sh -c 'waitlock --list; waitlock backup; echo \"second instance: exit \$?\"'"
waitlock backup --exec sh -c 'waitlock --list; waitlock backup; echo "second instance: exit $?"'
echo "\$ waitlock -m 2 pool --exec sh -c 'echo holding slot \$WAITLOCK_SLOT'"
waitlock -m 2 pool --exec sh -c 'echo holding slot $WAITLOCK_SLOT'
echo "\$ waitlock --check backup; echo \$?"
waitlock --check backup; echo $?
