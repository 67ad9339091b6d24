#!/usr/bin/env bash
# Installs the Debian packages whose servers the tests start themselves, when
# they are missing and this can be done here (root, apt-get): rsyslog for
# tests/syslog.test.ts, etcd and redis for the backend tests (tests/servers/),
# prometheus and hyperfine for the benchmarks, zsh and fish for the completion tests. Each test starts its own daemon
# with its own config, ports and dirs under a temp dir: only the binaries come
# from here. Run by `npm test` (pretest) and by .ci/run. Where it cannot
# install, it says what to run and exits 0: those tests then skip, naming the
# command. Under CI=true (.ci/run) a server that cannot be installed fails here,
# at the top of the log, rather than as failing tests further down.
set -uo pipefail

missing=()
need() { # need BINARY PACKAGE
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || missing+=("$2")
}
need rsyslogd rsyslog
need etcd etcd-server
need etcdctl etcd-client
need redis-server redis-server
need prometheus prometheus
need hyperfine hyperfine
# shells whose completion tests/completion.test.ts drives (bash is always there)
need zsh zsh
need fish fish
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test servers: missing ${missing[*]}; their tests will be skipped (install with: sudo apt-get install ${missing[*]})" >&2
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi

# Installing etcd-server or redis-server would start the system's etcd and
# redis, which would hold the default ports and run for nothing: a
# policy-rc.d that answers 101 ("not allowed") tells invoke-rc.d to start no
# service. It is removed (and any earlier one put back) however apt-get ends.
policy=/usr/sbin/policy-rc.d
if [ -e "$policy" ]; then mv "$policy" "$policy.before-waitlock"; fi
restore_policy() {
  rm -f "$policy"
  if [ -e "$policy.before-waitlock" ]; then mv "$policy.before-waitlock" "$policy"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod 755 "$policy"
echo "test servers: installing ${missing[*]} (apt-get)" >&2
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2; then
  echo "test servers: apt-get could not install ${missing[*]}; their tests will be skipped off CI" >&2
  [ "${CI:-}" = true ] && exit 1
fi
exit 0
