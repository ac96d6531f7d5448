# shellcheck shell=bash
# Shared setup for the integration tests: a busybox rootfs per file, a private
# SBX_ROOT and state directory per test, feature probes that skip (or, with
# SBX_TEST_REQUIRE, fail) when the host lacks something.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TESTS_DIR

# The binary under test: $SBX_BIN, else `sbx` on PATH.  Use "$SBX" for a
# background job, so that $! is sbx itself and not a subshell.
SBX=${SBX_BIN:-sbx}
export SBX
sbx() {
  "${SBX_BIN:-sbx}" "$@"
}

sbx_file_setup() {
  ROOTFS="$BATS_FILE_TMPDIR/rootfs"
  export ROOTFS
  [ -d "$ROOTFS/bin" ] || "$TESTS_DIR/fixtures/mkrootfs" "$ROOTFS"
}

sbx_test_setup() {
  ROOTFS="$BATS_FILE_TMPDIR/rootfs"
  export ROOTFS
  export SBX_ROOT="$BATS_TEST_TMPDIR/store"
}

sbx_test_teardown() {
  :
}

# SBX_TEST_REQUIRE=userns,fuse,tun turns these skips into failures.
require_feature() {
  local name=$1 ok=$2 why=$3
  if [ "$ok" = yes ]; then
    return 0
  fi
  case ",${SBX_TEST_REQUIRE:-}," in
    *",$name,"*) fail "required feature '$name' is missing: $why" ;;
  esac
  skip "host lacks $name: $why"
}

require_userns() {
  if unshare -U true 2>/dev/null; then
    require_feature userns yes ""
  else
    require_feature userns no "unshare -U failed (user namespaces disabled?)"
  fi
}

require_fuse() {
  if [ -r /dev/fuse ] && [ -w /dev/fuse ]; then
    require_feature fuse yes ""
  else
    require_feature fuse no "/dev/fuse is not readable and writable"
  fi
}

require_tun() {
  if [ -r /dev/net/tun ] && [ -w /dev/net/tun ]; then
    require_feature tun yes ""
  else
    require_feature tun no "/dev/net/tun is not readable and writable"
  fi
}

# The user-namespace mode sbx picks for this user: subuid or single.
sbx_mode() {
  sbx info --format json | sed -n 's/.*"mode": "\([a-z]*\)".*/\1/p' | head -n1
}

require_mode() {
  local want=$1 have
  have=$(sbx_mode)
  [ "$have" = "$want" ] || skip "this run is in $have mode, the test is for $want mode"
}

# Wait (bounded) until COMMAND succeeds: wait_for SECONDS COMMAND...
wait_for() {
  local secs=$1
  shift
  local end=$((SECONDS + secs))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.05
  done
}

# Host pids of processes whose command line matches PATTERN, owned by us.
pids_matching() {
  pgrep -u "$(id -u)" -f "$1" || true
}

# For wait_for: evaluated on every try (a $(...) argument would be expanded once).
has_pids() { [ -n "$(pids_matching "$1")" ]; }
no_pids() { [ -z "$(pids_matching "$1")" ]; }
count_pids() { [ "$(pids_matching "$1" | wc -l)" -eq "$2" ]; }

# The local-registry tests (tests/fixtures/registry, mkimages, push-images)
# need Debian's docker-registry, skopeo, umoci, htpasswd (apache2-utils),
# curl, jq and python3.  registry_tools_missing prints the missing ones;
# setup_file cannot skip (bats 1.8), so it checks that and each test calls
# require_registry_tools.
registry_tools_missing() {
  local t missing=()
  for t in docker-registry skopeo umoci htpasswd curl jq python3; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  echo "${missing[*]}"
}

require_registry_tools() {
  local missing
  missing=$(registry_tools_missing)
  if [ -z "$missing" ]; then
    require_feature registry yes ""
  else
    require_feature registry no "not installed: $missing (scripts/install-deps)"
  fi
}
