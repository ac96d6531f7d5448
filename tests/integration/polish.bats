#!/usr/bin/env bats
# Everyday polish: settings (config.json and the environment), --help with
# examples for every command, man pages, shell completion, --log-level,
# system df and system prune.

# Each @test runs in a subshell of its own.
# shellcheck disable=SC2030,SC2031

load helpers

setup_file() { sbx_file_setup; }

setup() {
  sbx_test_setup
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  mkdir -p "$XDG_CONFIG_HOME/sbx"
  unset SBX_STORAGE_DRIVER SBX_NETWORK SBX_LOG NO_COLOR
}

teardown() { sbx_test_teardown; }

config() {
  printf '%s\n' "$1" >"$XDG_CONFIG_HOME/sbx/config.json"
}

# An image named NAME from the test rootfs.
import_image() {
  tar -C "$ROOTFS" -cf "$BATS_TEST_TMPDIR/rootfs.tar" .
  sbx import "$BATS_TEST_TMPDIR/rootfs.tar" "$1" >/dev/null
}

# The value and source of setting KEY in `sbx info --format json`.
setting() {
  sbx info --format json | python3 -c 'import json,sys; s=json.load(sys.stdin)["settings"][sys.argv[1]]; print(s["value"], s["source"])' "$1"
}

# Bash completion of the words given (the last one is being completed).
complete_words() {
  PATH="$(dirname "$SBX"):$PATH" bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _sbx; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$TESTS_DIR/../completion/sbx.bash" "$@"
}

commands() {
  sbx --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }'
}

# ---- settings ---------------------------------------------------------------

@test "polish: config.json keys take effect, with their source in sbx info" {
  local alt="$BATS_TEST_TMPDIR/alt-store"
  config "{\"root\": \"$alt\", \"storage_driver\": \"fuse\", \"network\": \"none\",
           \"publish_address\": \"0.0.0.0\", \"insecure_registries\": [\"reg.example:5000\"],
           \"registry_mirrors\": {\"docker.io\": [\"http://127.0.0.1:1\"]}}"
  unset SBX_ROOT
  [ "$(setting root)" = "$alt config" ]
  [ "$(setting storage_driver)" = "fuse config" ]
  [ "$(setting network)" = "none config" ]
  [ "$(setting publish_address)" = "0.0.0.0 config" ]
  [ "$(setting log_level)" = "warn default" ]
  run sbx info
  assert_success
  assert_line --regexp '^storage driver: +fuse \(set in config.json\)$'
  assert_line --regexp '^network: +none \(set in config.json\)$'
  assert_line --regexp '^  registry_mirrors +docker.io=http://127.0.0.1:1 \(config\)$'
  assert_line --regexp '^  insecure_registries +reg.example:5000 \(config\)$'
  # The root is the store the commands use.
  import_image cfgroot:1
  [ -e "$alt/images.json" ]
  run sbx images --format '{{.Repository}}:{{.Tag}}'
  assert_output "cfgroot:1"
}

@test "polish: the environment overrides config.json, and flags override both" {
  config '{"storage_driver": "fuse", "network": "none", "log_level": "error"}'
  [ "$(SBX_STORAGE_DRIVER=overlay setting storage_driver)" = "overlay env" ]
  [ "$(SBX_NETWORK=host setting network)" = "host env" ]
  [ "$(SBX_LOG=info setting log_level)" = "info env" ]
  [ "$(setting root)" = "$SBX_ROOT env" ]
  run sbx --root "$BATS_TEST_TMPDIR/flag" info --format json
  assert_output --partial "\"source\": \"flag\""
  run sbx --log-level debug info
  assert_line --regexp '^  log_level +debug \(flag\)$'
}

@test "polish: the network setting is run's default" {
  require_userns
  config '{"network": "none"}'
  run sbx run --rm --rootfs "$ROOTFS" cat /proc/net/dev
  assert_success
  refute_output --partial "tap0"
}

@test "polish: a bad config is one error line naming the key and the file" {
  local f="$XDG_CONFIG_HOME/sbx/config.json"
  config '{"storage_driver": 3}'
  run --separate-stderr sbx images
  [ "$status" -eq 125 ]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
  [[ $stderr == *"$f"*storage_driver* ]] || fail "$stderr"
  config '{"storage_driver": "zfs"}'
  run sbx info
  [ "$status" -eq 125 ]
  assert_output --partial "storage_driver \`zfs\`"
  config '{"registry_mirrors": {"docker.io": "http://m"}}'
  run sbx info
  [ "$status" -eq 125 ]
  assert_output --partial "registry_mirrors"
  config '{"root": "x",'
  run sbx info
  [ "$status" -eq 125 ]
  assert_output --partial "invalid JSON"
  config '{}'
  SBX_STORAGE_DRIVER=zfs run sbx info
  [ "$status" -eq 125 ]
  assert_output --partial "\$SBX_STORAGE_DRIVER"
}

@test "polish: an unknown config key is a warning, not an error" {
  config '{"colour": true}'
  run --separate-stderr sbx images -q
  assert_success
  [[ $stderr == *"unknown key \`colour\`"* ]] || fail "$stderr"
}

# ---- logging ----------------------------------------------------------------

@test "polish: --log-level and log_level choose what is logged" {
  run --separate-stderr sbx --log-level debug images -q
  assert_success
  [[ $stderr == *"sbx: [sbx] settings from"* ]] || fail "no debug lines: $stderr"
  run --separate-stderr sbx images -q
  [ -z "$stderr" ] || fail "unexpected: $stderr"
  SBX_LOG=debug run --separate-stderr sbx images -q
  [[ $stderr == *"sbx: [sbx] settings from"* ]] || fail "no debug lines from SBX_LOG: $stderr"
  config '{"log_level": "debug"}'
  run --separate-stderr sbx images -q
  [[ $stderr == *"sbx: [sbx] settings from"* ]] || fail "no debug lines from config: $stderr"
  run --separate-stderr sbx --log-level error images -q
  [ -z "$stderr" ] || fail "the flag does not win over the config: $stderr"
  run sbx --log-level loud info
  [ "$status" -eq 125 ]
  assert_output --partial "invalid log level"
}

# ---- help, man pages, completion --------------------------------------------

@test "polish: every command's --help exits 0 and shows examples" {
  local c n=0
  for c in $(commands); do
    run sbx "$c" --help
    [ "$status" -eq 0 ] || fail "sbx $c --help: exit $status"
    [[ $output == *$'\nExamples:\n  '* ]] || fail "sbx $c --help has no Examples"
    n=$((n + 1))
  done
  [ "$n" -gt 20 ]
  for c in "system df" "system prune" "system check" "image prune"; do
    # shellcheck disable=SC2086
    run sbx $c --help
    assert_success
  done
  run sbx --help
  assert_output --partial "Examples:"
}

@test "polish: man pages from --help render with man -l" {
  command -v man >/dev/null || skip "man is not installed"
  local out="$BATS_TEST_TMPDIR/man"
  run "$TESTS_DIR/../scripts/gen-man" "$SBX" "$out"
  assert_success
  [ -s "$out/sbx.1" ]
  for c in $(commands); do
    [ -s "$out/sbx-$c.1" ] || fail "no page for $c"
  done
  run man -l "$out/sbx-run.1"
  assert_success
  assert_output --partial "SYNOPSIS"
  assert_output --partial "EXAMPLES"
  MANWIDTH=80 run man -l "$out/sbx.1"
  assert_output --partial "rootless, daemonless containers"
}

@test "polish: completion lists commands and the names of existing images" {
  import_image alpha:1
  import_image beta:2
  run complete_words sbx ""
  assert_success
  for c in run images system completion version; do assert_line "$c"; done
  run complete_words sbx ru
  assert_output "run"
  run complete_words sbx run ""
  assert_line "alpha:1"
  assert_line "beta:2"
  run complete_words sbx rmi al
  assert_output "alpha:1"
  run complete_words sbx run --netw
  assert_output "--network"
  run complete_words sbx system ""
  assert_line "df"
  assert_line "prune"
  # The built-in copy is the installed one.
  diff <(sbx completion bash) "$TESTS_DIR/../completion/sbx.bash"
  diff <(sbx completion zsh) "$TESTS_DIR/../completion/_sbx"
}

@test "polish: completion lists container names" {
  require_userns
  import_image gamma:1
  sbx run --name named-one gamma:1 true
  run complete_words sbx rm ""
  assert_output "named-one"
}

# ---- system df / prune ------------------------------------------------------

@test "polish: system df shows images and containers, prune frees them" {
  require_userns
  import_image delta:1
  sbx run --name big delta:1 sh -c 'dd if=/dev/zero of=/blob bs=1024 count=512 2>/dev/null'
  run sbx system df
  assert_success
  assert_line --regexp '^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$'
  assert_line --regexp '^Images +1 +1 +[0-9.]+ [kM]B '
  assert_line --regexp '^Containers +1 +0 +5[0-9.]+ kB +5[0-9.]+ kB \(100%\)$'
  run sbx system df --format json
  python3 -c 'import json,sys; rows={r["Type"]: r for r in json.load(sys.stdin)}; c=rows["Containers"]; assert c["TotalCount"]==1 and c["Size"]>=524288 and c["Reclaimable"]==c["Size"], rows' <<<"$output"

  run sbx system prune
  [ "$status" -eq 125 ] # no terminal, no -f
  run sbx system prune -f
  assert_success
  assert_line "Deleted Containers:"
  assert_line --regexp '^Total reclaimed space: 5[0-9.]+ kB$'
  run sbx ps -a -q
  assert_output ""
  run sbx images -q
  [ -n "$output" ] # images stay without -a

  run sbx system prune -a -f
  assert_success
  assert_line "Untagged: docker.io/library/delta:1"
  assert_line --regexp '^Total reclaimed space: [0-9.]+ MB$'
  run sbx images -q
  assert_output ""
  run sbx system df --format json
  python3 -c 'import json,sys; assert all(r["Size"]==0 for r in json.load(sys.stdin) if r["Type"] != "Build Cache")' <<<"$output"
}

@test "polish: images --format templates" {
  import_image eps:3
  run sbx images --format '{{.Repository}}|{{ .Tag }}|{{.Name}}'
  assert_output "eps|3|eps:3"
  run sbx images --format '{{.Nope}}'
  [ "$status" -eq 125 ]
  assert_output --partial "unknown field"
}
