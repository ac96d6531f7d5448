#!/usr/bin/env bats
# Bad input: exit 125 and one line that names what was wrong.

load helpers

setup_file() { sbx_file_setup; }
setup() { sbx_test_setup; }

assert_one_line_error() {
  assert_equal "$status" 125
  assert_equal "${#lines[@]}" 1
  assert_output --regexp "^sbx: "
  assert_output --partial "$1"
}

@test "errors: an unknown flag" {
  run sbx run --rootfs "$ROOTFS" --bogus true
  assert_one_line_error "--bogus"
  run sbx run --rootfs "$ROOTFS" -Z true
  assert_one_line_error "-Z"
  run sbx --nope
  assert_one_line_error "--nope"
}

@test "errors: a flag without its argument" {
  run sbx run --rootfs
  assert_one_line_error "--rootfs"
}

@test "errors: an unknown command" {
  run sbx frobnicate
  assert_one_line_error "frobnicate"
}

@test "errors: a missing rootfs" {
  run sbx run --rootfs "$BATS_TEST_TMPDIR/missing" true
  assert_one_line_error "missing"
}

@test "errors: malformed -v" {
  run sbx run --rootfs "$ROOTFS" -v novolume true
  assert_one_line_error "novolume"
  run sbx run --rootfs "$ROOTFS" -v /tmp:relative true
  assert_one_line_error "relative"
  run sbx run --rootfs "$ROOTFS" -v /tmp:/x:bogus true
  assert_one_line_error "bogus"
  run sbx run --rootfs "$ROOTFS" -v "$BATS_TEST_TMPDIR/none:/x" true
  assert_one_line_error "none"
}

@test "errors: malformed -e and --env-file" {
  run sbx run --rootfs "$ROOTFS" -e =value true
  assert_one_line_error "=value"
  printf 'OK=1\n=bad\n' >"$BATS_TEST_TMPDIR/envf"
  run sbx run --rootfs "$ROOTFS" --env-file "$BATS_TEST_TMPDIR/envf" true
  assert_one_line_error "envf:2"
  run sbx run --rootfs "$ROOTFS" --env-file "$BATS_TEST_TMPDIR/nofile" true
  assert_one_line_error "nofile"
}

@test "errors: malformed options" {
  run sbx run --rootfs "$ROOTFS" --network bogus true
  assert_one_line_error "bogus"
  run sbx run --rootfs "$ROOTFS" --userns bogus true
  assert_one_line_error "bogus"
  run sbx run --rootfs "$ROOTFS" -w relative true
  assert_one_line_error "relative"
  run sbx run --rootfs "$ROOTFS"
  assert_one_line_error "no command"
  run sbx run --pull=never busybox true
  assert_one_line_error "no such image"
  run sbx run
  assert_one_line_error "no image given"
}

@test "errors: --help and version succeed" {
  run sbx --help
  assert_success
  assert_output --partial "run"
  run sbx run --help
  assert_success
  assert_output --partial "--rootfs"
  run sbx version
  assert_success
  assert_output --regexp "^sbx version [0-9]"
}
