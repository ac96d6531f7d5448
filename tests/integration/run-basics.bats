#!/usr/bin/env bats
# sbx run --rootfs: stdio, exit codes, identity, environment.

load helpers

setup_file() { sbx_file_setup; }
setup() {
  sbx_test_setup
  require_userns
}

@test "run: stdin passes through without -t" {
  run bash -c 'echo hello | "${SBX_BIN:-sbx}" run --rootfs "$ROOTFS" cat'
  assert_success
  assert_output "hello"
}

@test "run: a pipeline through sbx keeps every byte" {
  run bash -c 'seq 100000 | "${SBX_BIN:-sbx}" run --rootfs "$ROOTFS" wc -l'
  assert_success
  assert_output "100000"
}

@test "run: stdout and stderr stay separate" {
  run bash -c '"${SBX_BIN:-sbx}" run --rootfs "$ROOTFS" sh -c "echo out; echo err >&2" 2>/dev/null'
  assert_output "out"
  run bash -c '"${SBX_BIN:-sbx}" run --rootfs "$ROOTFS" sh -c "echo out; echo err >&2" 2>&1 >/dev/null'
  assert_output "err"
}

@test "run: the command's exit status is sbx's" {
  run sbx run --rootfs "$ROOTFS" sh -c 'exit 7'
  assert_equal "$status" 7
}

@test "run: a missing command exits 127" {
  run -127 sbx run --rootfs "$ROOTFS" /nonexistent
  assert_equal "$status" 127
  assert_output --partial "/nonexistent"
  run -127 sbx run --rootfs "$ROOTFS" no-such-command
  assert_equal "$status" 127
  assert_output --partial "not found in \$PATH"
}

@test "run: a command that is not executable exits 126" {
  run sbx run --rootfs "$ROOTFS" /etc/passwd
  assert_equal "$status" 126
  assert_output --partial "Permission denied"
}

@test "run: a command killed by signal N gives 128+N" {
  run sbx run --rootfs "$ROOTFS" --init sh -c 'kill -KILL $$'
  assert_equal "$status" 137
  run sbx run --rootfs "$ROOTFS" --init sh -c 'kill -TERM $$'
  assert_equal "$status" 143
}

@test "run: container root is the invoking user" {
  run sbx run --rootfs "$ROOTFS" id -u
  assert_success
  assert_output "0"
  run sbx run --rootfs "$ROOTFS" sh -c 'touch /tmp/owned && stat -c %u /tmp/owned'
  assert_output "0"
  run stat -c %u "$ROOTFS/tmp/owned"
  assert_output "$(id -u)"
}

@test "run: --userns=keep-id keeps the user's uid" {
  run sbx run --rootfs "$ROOTFS" --userns=keep-id id -u
  assert_success
  assert_output "$(id -u)"
}

@test "run: subuid mode maps the subordinate range" {
  require_mode subuid
  run sbx run --rootfs "$ROOTFS" cat /proc/self/uid_map
  assert_success
  assert_equal "${#lines[@]}" 2
  assert_line --index 0 --regexp "^ +0 +$(id -u) +1$"
  assert_line --index 1 --regexp "^ +1 +[0-9]+ +65536$"
  run sbx run --rootfs "$ROOTFS" -u 1000:1000 id
  assert_success
  assert_output --partial "uid=1000(alice) gid=1000(alice)"
}

@test "run: single mode maps one uid and refuses others" {
  require_mode single
  run sbx run --rootfs "$ROOTFS" cat /proc/self/uid_map
  assert_success
  assert_equal "${#lines[@]}" 1
  assert_line --index 0 --regexp "^ +0 +$(id -u) +1$"
  run sbx run --rootfs "$ROOTFS" -u 1000 id
  assert_equal "$status" 125
  assert_output --partial "not mapped"
  assert_output --partial "hint:"
}

@test "run: -u NAME resolves in the rootfs's /etc/passwd" {
  require_mode subuid
  run sbx run --rootfs "$ROOTFS" -u alice sh -c 'id; echo $HOME'
  assert_success
  assert_line --index 0 "uid=1000(alice) gid=1000(alice) groups=50(staff),1000(alice)"
  assert_line --index 1 "/home/alice"
}

@test "run: an unknown -u name exits 125 naming it" {
  run sbx run --rootfs "$ROOTFS" -u nosuchuser true
  assert_equal "$status" 125
  assert_output --partial "nosuchuser"
}

@test "run: ps inside lists only the container's processes" {
  run sbx run --rootfs "$ROOTFS" ps -o pid,comm
  assert_success
  assert_equal "${#lines[@]}" 2
  assert_line --index 1 --regexp "^ +1 +ps$"
}

@test "run: -e, --env-file and defaults reach the command" {
  printf '# comment\nFROMFILE=yes\n\nSPACE=a b\n' >"$BATS_TEST_TMPDIR/envf"
  export PASSME=through
  run sbx run --rootfs "$ROOTFS" -e FOO=bar -e PASSME -e UNSET_VAR_XYZ --env-file "$BATS_TEST_TMPDIR/envf" env
  assert_success
  assert_line "FOO=bar"
  assert_line "PASSME=through"
  assert_line "FROMFILE=yes"
  assert_line "SPACE=a b"
  assert_line "HOME=/root"
  assert_line "container=sbx"
  assert_line --regexp "^PATH=/usr/local/sbin:"
  refute_line --partial "UNSET_VAR_XYZ"
}

@test "run: -w sets (and creates) the working directory" {
  run sbx run --rootfs "$ROOTFS" -w /work/dir pwd
  assert_success
  assert_output "/work/dir"
}

@test "run: --hostname and the generated /etc files" {
  run sbx run --rootfs "$ROOTFS" --hostname box1 sh -c 'hostname; cat /etc/hostname; grep -c box1 /etc/hosts'
  assert_success
  assert_line --index 0 "box1"
  assert_line --index 1 "box1"
  assert_line --index 2 "1"
}

@test "run: --entrypoint runs with the command as arguments" {
  run sbx run --rootfs "$ROOTFS" --entrypoint echo a b
  assert_success
  assert_output "a b"
}

@test "run: -t gives the command a terminal" {
  command -v script >/dev/null || skip "script(1) is not installed"
  run script -eqc "\"${SBX_BIN:-sbx}\" run --rootfs \"$ROOTFS\" -t sh -c 'tty; echo \$TERM'" /dev/null </dev/null
  assert_success
  assert_line --partial "/dev/pts/0"
  assert_line --partial "xterm"
}

@test "run: -it relays keyboard input and the exit status" {
  command -v script >/dev/null || skip "script(1) is not installed"
  run bash -c "printf 'echo typed-\$((6*7))\nexit 3\n' | script -eqc '\"${SBX_BIN:-sbx}\" run --rootfs \"$ROOTFS\" -it sh' /dev/null"
  assert_equal "$status" 3
  assert_output --partial "typed-42"
}

@test "run: -it without a terminal is refused" {
  run sbx run --rootfs "$ROOTFS" -it sh </dev/null
  assert_equal "$status" 125
  assert_output --partial "not a TTY"
}

@test "run: --network host keeps the host's network" {
  run sbx run --rootfs "$ROOTFS" --network host cat /proc/net/dev
  assert_success
  host_ifaces=$(grep -c : /proc/net/dev)
  assert_equal "$(grep -c : <<<"$output")" "$host_ifaces"
}

@test "run: --network none has only loopback, and it is up" {
  run sbx run --rootfs "$ROOTFS" --network none sh -c 'grep -c : /proc/net/dev; ip link show lo'
  assert_success
  assert_line --index 0 "1"
  assert_output --partial "UP"
}
