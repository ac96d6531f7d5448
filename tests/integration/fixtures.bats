#!/usr/bin/env bats
# The image-test fixtures themselves: tests/fixtures/registry (Debian's
# docker-registry on a free loopback port), mkimages (OCI layouts built
# offline) and push-images (skopeo into the registry).  One registry and one
# set of images per file; tests that need another registry start it under
# their own BATS_TEST_TMPDIR.

load helpers

FIX="$TESTS_DIR/fixtures"

setup_file() {
  # bats 1.8 cannot skip from setup_file: each test calls require_registry_tools.
  [ -z "$(registry_tools_missing)" ] || return 0
  export IMAGES="$BATS_FILE_TMPDIR/images" REGDIR="$BATS_FILE_TMPDIR/registry"
  local t0=$SECONDS
  "$FIX/mkimages" "$IMAGES"
  export MKIMAGES_SECONDS=$((SECONDS - t0))
  REGISTRY=$("$FIX/registry" start "$REGDIR")
  export REGISTRY
  "$FIX/push-images" "$REGDIR" "$IMAGES"
}

teardown_file() {
  [ -z "${REGDIR:-}" ] || "$FIX/registry" stop "$REGDIR"
}

setup() {
  require_registry_tools
}

teardown() {
  local d
  for d in "$BATS_TEST_TMPDIR"/reg-*; do
    [ ! -d "$d" ] || "$FIX/registry" stop "$d"
  done
}

# The digest of the manifest (or index) tagged latest in layout $1.
layout_digest() {
  jq -r '.manifests[0].digest' "$1/index.json"
}

# The state letter of process $1 (R, S, Z, …) in $output; empty when gone.
run_state() {
  output=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || output=''
}

inspect() {
  skopeo inspect --tls-verify=false "$@"
}

@test "fixtures: mkimages builds every image in under 30 s, and a second run is a no-op" {
  [ "$MKIMAGES_SECONDS" -lt 30 ]
  local n
  for n in busybox multilayer multiarch bad-digest hostile-dotdot hostile-absolute \
    hostile-symlink hostile-hardlink hostile-device hostile-whiteout hostile-truncated; do
    [ -f "$IMAGES/$n/oci-layout" ] || fail "no layout $n"
    [ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$IMAGES/$n/index.json")" = latest ]
  done
  local t0=$SECONDS
  run "$FIX/mkimages" "$IMAGES"
  assert_success
  [ $((SECONDS - t0)) -le 2 ]
}

@test "fixtures: registry listens on loopback, writes its pid and log" {
  [[ $REGISTRY == 127.0.0.1:* ]]
  [ "$(cat "$REGDIR/addr")" = "$REGISTRY" ]
  kill -0 "$(cat "$REGDIR/pid")"
  run curl -sf "http://$REGISTRY/v2/"
  assert_success
  assert_output "{}"
  grep -q '"GET /v2/ HTTP/1.1" 200' "$REGDIR/log"
}

@test "fixtures: registry stop leaves no process behind" {
  local dir="$BATS_TEST_TMPDIR/reg-stop" addr pid
  addr=$("$FIX/registry" start "$dir")
  pid=$(cat "$dir/pid")
  has_pids "$dir/config.yml"
  [ "$addr" != "$REGISTRY" ]
  run "$FIX/registry" stop "$dir"
  assert_success
  [ ! -e "$dir/pid" ]
  # Stopped: gone, or a zombie waiting for init (its parent) to reap it.
  run_state "$pid"
  [ -z "$output" ] || [ "$output" = Z ]
  wait_for 5 no_pids "$dir/config.yml"
  run curl -s -m 2 "http://$addr/v2/"
  assert_failure
  # Stopping again is harmless.
  run "$FIX/registry" stop "$dir"
  assert_success
}

@test "fixtures: skopeo inspect reads every pushed image, digests as in the layouts" {
  local n want got
  for n in busybox multilayer bad-digest hostile-dotdot hostile-absolute hostile-symlink \
    hostile-hardlink hostile-device hostile-whiteout hostile-truncated; do
    run inspect "docker://$REGISTRY/sbx-test/$n:latest"
    assert_success
    [ "$(jq -r .Os <<<"$output")" = linux ] || fail "$n: $output"
    want=$(layout_digest "$IMAGES/$n")
    got=$(jq -r .Digest <<<"$output")
    [ "$got" = "$want" ] || fail "$n: registry has $got, layout $want"
    want=$(jq -r '[.layers[].digest] | join(" ")' "$IMAGES/$n/blobs/sha256/${want#sha256:}")
    got=$(jq -r '.Layers | join(" ")' <<<"$output")
    [ "$got" = "$want" ] || fail "$n: layers $got, expected $want"
  done
  run inspect --config "docker://$REGISTRY/sbx-test/busybox:latest"
  assert_success
  [ "$(jq -c .config.Cmd <<<"$output")" = '["sh"]' ]
  [ "$(jq -r '.config.Labels["org.sbx.test"]' <<<"$output")" = busybox ]
  jq -e '.config.Env | any(startswith("PATH="))' <<<"$output"
}

@test "fixtures: multiarch is an index of two platforms and an attestation manifest" {
  run inspect --raw "docker://$REGISTRY/sbx-test/multiarch:latest"
  assert_success
  [ "$(jq -r .mediaType <<<"$output")" = application/vnd.oci.image.index.v1+json ]
  [ "$(jq -r '[.manifests[].platform | select(.os == "linux") | .architecture] | sort | join(",")' <<<"$output")" = amd64,arm64 ]
  [ "$(jq -r '[.manifests[] | select(.annotations["vnd.docker.reference.type"] == "attestation-manifest") | .platform.os] | join(",")' <<<"$output")" = unknown ]
  [ "$(layout_digest "$IMAGES/multiarch")" = "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" ]
  # Each platform's last layer holds /arch = arch=ARCH.
  local a digest
  for a in amd64 arm64; do
    run inspect --override-arch "$a" "docker://$REGISTRY/sbx-test/multiarch:latest"
    assert_success
    [ "$(jq -r .Architecture <<<"$output")" = "$a" ]
    digest=$(jq -r '.Layers[-1]' <<<"$output")
    run bash -c "curl -sf 'http://$REGISTRY/v2/sbx-test/multiarch/blobs/$digest' | tar -xzOf - arch"
    assert_success
    assert_output "arch=$a"
  done
}

@test "fixtures: multilayer.expect is umoci's merged tree, with every edge case" {
  local e="$IMAGES/multilayer.expect"
  # Whiteouts, opaque directory, replacements.
  run grep -E '^(deleted|deleted-dir|opaque/lower-a|opaque/sub/lower-b|opaque/new|links/dangling) ' "$e"
  assert_failure
  grep -q '^opaque/upper-a type=reg ' "$e"
  grep -q '^opaque/sub/upper-c type=reg ' "$e"
  grep -q '^opaque type=dir mode=0755 ' "$e"
  grep -q '^file-to-dir type=dir ' "$e"
  grep -q '^file-to-dir/inner type=reg ' "$e"
  grep -q '^dir-to-file type=reg ' "$e"
  run grep -c '^dir-to-file/' "$e"
  assert_output 0
  grep -q '^replaced type=reg mode=0644 size=4 ' "$e"
  grep -q '^links/to-be-file type=reg ' "$e"
  # Links.
  grep -q '^links/abs type=symlink target=/etc/hostname ' "$e"
  grep -q '^links/rel type=symlink target=../lower-target ' "$e"
  grep -q '^hl/b type=reg mode=0640 .* hardlink=hl/a ' "$e"
  grep -q '^hl-lower type=reg .* hardlink=hl-lower ' "$e"
  grep -q '^lower-target type=reg .* hardlink=hl-lower ' "$e"
  grep -q '^gnu/long-hardlink type=reg .* hardlink=gnu/long-hardlink ' "$e"
  # Long names: over 100 (PAX and GNU), a 255-byte name, a 306-byte path.
  [ "$(awk 'length($1) > 255' "$e" | wc -l)" -ge 1 ]
  grep -qE '^long/n{255} type=reg ' "$e"
  grep -qE '^gnu/g{120} type=reg ' "$e"
  grep -qE '^gnu/long-target type=symlink target=\.\./long/x{150} ' "$e"
  # Modes and times.
  grep -q '^modes/zero type=reg mode=0000 size=5 ' "$e"
  grep -q '^modes/suid type=reg mode=4755 ' "$e"
  grep -q '^modes/sgid-dir type=dir mode=2775 ' "$e"
  grep -q '^modes/sticky type=dir mode=1777 ' "$e"
  grep -q '^modes/private type=dir mode=0700 ' "$e"
  grep -q '^modes/ro-empty type=dir mode=0555 ' "$e"
  grep -q '^modes/chmod-me type=reg mode=0600 ' "$e"
  grep -q '^old type=reg .* mtime=978307200' "$e"
  grep -q '^fifo type=fifo mode=0644 ' "$e"
  # --describe of the same tree gives the same lines (the real tests'
  # comparison), and --no-mtime drops the times.
  local rootfs="$BATS_TEST_TMPDIR/rootfs"
  umoci raw unpack --rootless --image "$IMAGES/multilayer:latest" "$rootfs" 2>/dev/null
  run "$FIX/mkimages" --describe "$rootfs"
  assert_success
  [ "$output" = "$(cat "$e")" ]
  run "$FIX/mkimages" --describe --no-mtime "$rootfs"
  [ "$output" = "$(sed 's/ mtime=[0-9]*//' "$e")" ]
  chmod -R u+rwX "$rootfs"
}

@test "fixtures: user.* xattrs survive into multilayer.expect where the filesystem has them" {
  if ! python3 -c 'import os, sys; open(sys.argv[1], "w"); os.setxattr(sys.argv[1], "user.probe", b"1")' \
    "$BATS_FILE_TMPDIR/xattr-probe" 2>/dev/null; then
    skip "the filesystem under $BATS_FILE_TMPDIR has no user xattrs"
  fi
  grep -q '^xattrs type=dir .* xattr.user.sbx.dir=d$' "$IMAGES/multilayer.expect"
  grep -q '^xattrs/file type=reg .* xattr.user.sbx.test=hello xattr.user.sbx.utf8=gr%c3%bc%c3%9fe$' \
    "$IMAGES/multilayer.expect"
  run grep -c 'xattr\.' "$IMAGES/multilayer.expect"
  assert_output 2
}

@test "fixtures: bad-digest lands corrupt in the registry and skopeo refuses it" {
  local digest
  read -r digest _ <"$IMAGES/bad-digest.corrupt"
  [ "$(jq -r '.Layers[0]' <<<"$(inspect "docker://$REGISTRY/sbx-test/bad-digest:latest")")" = "$digest" ]
  run bash -c "curl -sf 'http://$REGISTRY/v2/sbx-test/bad-digest/blobs/$digest' | sha256sum"
  assert_success
  refute_output --partial "${digest#sha256:}"
  # Only the digest is wrong: the blob still gunzips to the diff_id's tar.
  run bash -c "curl -sf 'http://$REGISTRY/v2/sbx-test/bad-digest/blobs/$digest' | gzip -dc | tar -xOf - bad-digest"
  assert_success
  assert_output --partial "does not match"
  # The layout's copy is corrupt too.
  run sha256sum "$IMAGES/bad-digest/blobs/sha256/${digest#sha256:}"
  refute_output --partial "${digest#sha256:} "
  run skopeo --insecure-policy copy --src-tls-verify=false \
    "docker://$REGISTRY/sbx-test/bad-digest:latest" "oci:$BATS_TEST_TMPDIR/pulled:latest"
  assert_failure
  assert_output --partial "Digest did not match"
}

@test "fixtures: hostile tars hold what they claim" {
  local h="$IMAGES/hostile" esc="$IMAGES/escape"
  [ "$(ls "$esc")" = secret ]
  run python3 - "$h" "$esc" <<'PY'
import sys, tarfile
h, esc = sys.argv[1], sys.argv[2]
def names(n):
    with tarfile.open("%s/%s.tar" % (h, n)) as t:
        return [(m.name, m.type, m.linkname) for m in t]
d = names("dotdot")
assert ("../dotdot-parent", tarfile.REGTYPE, "") in d, d
assert any(n.startswith("../../") and n.endswith(esc.lstrip("/") + "/dotdot-deep") for n, _, _ in d), d
assert (esc + "/absolute", tarfile.REGTYPE, "") in names("absolute")
s = names("symlink")
assert ("l", tarfile.SYMTYPE, esc) in s and ("l/through-abs", tarfile.REGTYPE, "") in s, s
assert ("d", tarfile.SYMTYPE, "..") in s, s
k = names("hardlink")
assert ("passwd", tarfile.LNKTYPE, "/etc/passwd") in k and ("secret", tarfile.LNKTYPE, esc + "/secret") in k, k
v = names("device")
assert ("null", tarfile.CHRTYPE, "") in v and ("sda", tarfile.BLKTYPE, "") in v, v
assert any(n.endswith("/.wh.secret") and n.startswith("../") for n, _, _ in names("whiteout"))
try:
    with tarfile.open(h + "/truncated.tar") as t:
        for m in t:
            t.extractfile(m).read() if m.isreg() else None
    raise SystemExit("truncated.tar read to the end")
except tarfile.ReadError:
    pass
with tarfile.open(h + "/truncated.tar") as t:
    assert t.next().name == "ok"
    big = t.next()
    assert (big.name, big.size) == ("big", 1 << 20), (big.name, big.size)
print("ok")
PY
  assert_success
  assert_output ok
  # Each is also a one-layer image whose layer is that tar.
  local n digest
  for n in dotdot absolute symlink hardlink device whiteout truncated; do
    digest=$(jq -r '.Layers[0]' <<<"$(inspect "docker://$REGISTRY/sbx-test/hostile-$n:latest")")
    [ "$(curl -sf "http://$REGISTRY/v2/sbx-test/hostile-$n/blobs/$digest" | gzip -dc | sha256sum)" = \
      "$(sha256sum <"$h/$n.tar")" ] || fail "hostile-$n: layer is not $n.tar"
  done
}

@test "fixtures: registry counts blob GETs in its access log" {
  local digest before after
  digest=$(jq -r '.Layers[0]' <<<"$(inspect "docker://$REGISTRY/sbx-test/busybox:latest")")
  before=$("$FIX/registry" blob-gets "$REGDIR" sbx-test/busybox "$digest")
  run skopeo --insecure-policy copy -q --src-tls-verify=false \
    "docker://$REGISTRY/sbx-test/busybox:latest" "oci:$BATS_TEST_TMPDIR/pulled:latest"
  assert_success
  after=$("$FIX/registry" blob-gets "$REGDIR" sbx-test/busybox "$digest")
  [ $((after - before)) -eq 1 ] || fail "blob GETs went from $before to $after"
  # Config and layer: two blob GETs for the repository in all.
  [ "$("$FIX/registry" blob-gets "$REGDIR" sbx-test/busybox)" -ge 2 ]
}

@test "fixtures: a registry with htpasswd refuses anonymous pulls, accepts the password" {
  local dir="$BATS_TEST_TMPDIR/reg-auth" addr
  addr=$("$FIX/registry" start "$dir" --htpasswd alice:s3cret)
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/v2/")" = 401 ]
  [ "$(stat -c %a "$dir/creds")" = 600 ]
  run "$FIX/push-images" "$dir" "$IMAGES" busybox
  assert_success
  run inspect --no-creds "docker://$addr/sbx-test/busybox:latest"
  assert_failure
  assert_output --partial "authentication required"
  run inspect --creds alice:wrong "docker://$addr/sbx-test/busybox:latest"
  assert_failure
  run inspect --creds alice:s3cret "docker://$addr/sbx-test/busybox:latest"
  assert_success
  [ "$(jq -r .Digest <<<"$output")" = "$(layout_digest "$IMAGES/busybox")" ]
  "$FIX/registry" stop "$dir"
  wait_for 5 no_pids "$dir/config.yml"
}
