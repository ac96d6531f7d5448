#!/usr/bin/env bats
# sbx info: what the host allows, and why.

load helpers

setup() { sbx_test_setup; }

@test "info: text names the user-namespace mode and its reason" {
  run sbx info
  assert_success
  assert_line --regexp "^userns mode: +(subuid|single) \(.+\)$"
  assert_line --regexp "^kernel: "
  assert_line --regexp "^store: "
}

@test "info: json parses and agrees with the expected mode" {
  run sbx info --format json
  assert_success
  python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["userns"]["mode"] in ("subuid","single"); assert "features" in d' <<<"$output"
  if [ -n "${SBX_TEST_MODE:-}" ]; then
    assert_output --partial "\"mode\": \"$SBX_TEST_MODE\""
  fi
}

@test "info: single mode says why and hints at /etc/subuid" {
  require_mode single
  run sbx info
  assert_output --partial "/etc/subuid"
  assert_line --regexp "^hint: "
}

@test "info: a missing feature gets a hint line" {
  run env SBX_USERNS_MODE=single "${SBX_BIN:-sbx}" info
  assert_success
  assert_output --partial "forced by SBX_USERNS_MODE=single"
  assert_output --partial "hint: resource limits"
}
