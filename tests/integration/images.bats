#!/usr/bin/env bats
# Images against real peers on 127.0.0.1: pull from Debian's docker-registry
# (tests/fixtures/registry), images built offline by tests/fixtures/mkimages
# and pushed by skopeo (tests/fixtures/push-images); umoci's unpack is the
# reference for the merged multi-layer tree, skopeo reads what sbx pushes.
# One plain registry and one with htpasswd per file (setup_file); each test
# has its own SBX_ROOT and XDG_CONFIG_HOME, so no store or login leaks.

# Each @test runs in a subshell of its own: a test's SBX_ROOT or HOME is its own.
# shellcheck disable=SC2030,SC2031

load helpers

FIX="$TESTS_DIR/fixtures"

setup_file() {
  # bats 1.8 cannot skip from setup_file: each test calls require_registry_tools.
  [ -z "$(registry_tools_missing)" ] || return 0
  export IMAGES="$BATS_FILE_TMPDIR/images"
  export REGDIR="$BATS_FILE_TMPDIR/registry" AUTHDIR="$BATS_FILE_TMPDIR/registry-auth"
  export AUTH_USER=sbx-tester AUTH_PASS="pw-$RANDOM-$RANDOM"
  "$FIX/mkimages" "$IMAGES"
  REGISTRY=$("$FIX/registry" start "$REGDIR")
  AUTH_REGISTRY=$("$FIX/registry" start "$AUTHDIR" --htpasswd "$AUTH_USER:$AUTH_PASS")
  export REGISTRY AUTH_REGISTRY
  "$FIX/push-images" "$REGDIR" "$IMAGES"
  "$FIX/push-images" "$AUTHDIR" "$IMAGES" busybox

  # A static busybox and a script that describes the container's root, for
  # images without a shell: bind-mounted read-only at /.sbx-bb.
  export BB="$BATS_FILE_TMPDIR/bb"
  mkdir -p "$BB/mnt"
  cp "$(command -v busybox)" "$BB/busybox"
  # One line per path of the overlay (bound again without its submounts, so
  # that /etc/hostname is the image's and not the runtime's):
  # PATH|TYPE|MODE|SIZE|INODE|MTIME|SHA256|SYMLINK-TARGET
  cat >"$BB/list.sh" <<'EOF'
B=/.sbx-bb/busybox
set -e
$B mount --bind / /.sbx-bb/mnt
cd /.sbx-bb/mnt
$B find . -mindepth 1 | $B sort | while IFS= read -r p; do
  st=$($B stat -c '%F|%a|%s|%i|%Y' "$p")
  h=-
  l=-
  case $st in
    regular*) h=$($B sha256sum "$p" | $B cut -d' ' -f1) ;;
    symbolic*) l=$($B readlink "$p") ;;
  esac
  echo "${p#./}|$st|$h|$l"
done
EOF
}

teardown_file() {
  [ -z "${REGDIR:-}" ] || "$FIX/registry" stop "$REGDIR"
  [ -z "${AUTHDIR:-}" ] || "$FIX/registry" stop "$AUTHDIR"
}

setup() {
  require_userns
  require_registry_tools
  sbx_test_setup
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  mkdir -p "$XDG_CONFIG_HOME"
}

teardown() {
  sbx_test_teardown
}

# ---- helpers ----------------------------------------------------------------

# The digest tagged latest in layout NAME (a manifest or an index).
layout_digest() {
  jq -r '.manifests[0].digest' "$IMAGES/$1/index.json"
}

# The path of blob DIGEST in layout NAME.
layout_blob() {
  echo "$IMAGES/$1/blobs/sha256/${2#sha256:}"
}

# The config digest of manifest DIGEST in layout NAME.
layout_config() {
  jq -r '.config.digest' "$(layout_blob "$1" "$2")"
}

# The layer digests (one a line) of manifest DIGEST in layout NAME.
layout_layers() {
  jq -r '.layers[].digest' "$(layout_blob "$1" "$2")"
}

# Lines of the registry's access log for these methods and path prefix:
# log_count REGDIR 'PUT|POST|PATCH' /v2/REPO/blobs/
log_count() {
  grep -cE "\"($2) $3" "$1/log" || true
}

# The Go architecture of this host, and the other one multiarch holds.
native_arch() {
  case $(uname -m) in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    *) echo "unsupported-$(uname -m)" ;;
  esac
}

# `sbx system check` succeeds and finds no damage (staging leftovers of an
# interrupted sbx are reported but are not damage).
assert_store_clean() {
  run sbx system check
  assert_success
  assert_output --regexp 'blobs: [0-9]+ ok, 0 damaged; layers: [0-9]+ ok, 0 damaged; images: 0 incomplete'
}

# Describe the merged root of IMAGE as seen inside a container (list.sh),
# into FILE.
list_container_root() {
  local image=$1 out=$2
  sbx run --rm --cap-add SYS_ADMIN -v "$BB:/.sbx-bb:ro" "$image" /.sbx-bb/busybox sh /.sbx-bb/list.sh \
    >"$out" 2>"$out.err" || fail "listing the root of $image failed: $(cat "$out.err")"
  [ -s "$out" ] || fail "empty listing of $image: $(cat "$out.err")"
}

# normalize_listing LISTING GOT [EXPECT WANT]
# Turn a list.sh LISTING into mkimages --describe lines (GOT), without the
# runtime's mount points (when not in the image) and without the mtime of etc
# (the runtime creates etc/hosts and etc/resolv.conf in it).  With EXPECT,
# write its lines into WANT without user.* xattrs (busybox cannot read them;
# the layer directories are checked instead) and etc's mtime.  Without
# EXPECT, leave out every directory's mtime (to compare two pulls made at
# different times).
normalize_listing() {
  python3 - "$@" <<'PY'
import sys
listing, got_out = sys.argv[1:3]
expect, want_out = (sys.argv[3:5] + [None, None])[:2]
RUNTIME = {b".sbx-bb", b"proc", b"dev", b"sys", b"etc/hosts", b"etc/resolv.conf"}
NO_MTIME = {b"etc"}
KINDS = {b"directory": "dir", b"regular file": "reg", b"regular empty file": "reg",
         b"symbolic link": "symlink", b"fifo": "fifo", b"character special file": "chr",
         b"block special file": "blk", b"socket": "sock"}

def esc(b):
    return "".join(chr(c) if 0x21 <= c < 0x7f and c not in b"%=" else "%%%02x" % c for c in b)

want, in_expect = [], set()
with open(expect or "/dev/null", "rb") as f:
    for line in f:
        fields = line.rstrip(b"\n").split(b" ")
        in_expect.add(fields[0])
        keep = [x for x in fields if not x.startswith(b"xattr.")]
        if fields[0] in NO_MTIME:
            keep = [x for x in keep if not x.startswith(b"mtime=")]
        want.append(b" ".join(keep))

rows = []
with open(listing, "rb") as f:
    for line in f:
        line = line.rstrip(b"\n")
        if not line:
            continue
        path, kind, mode, size, ino, mtime, sha, target = line.split(b"|", 7)
        if path in RUNTIME and path not in in_expect:
            continue
        rows.append((path, KINDS.get(kind, kind.decode()), int(mode, 8), size, ino, mtime, sha, target))
groups = {}
for r in rows:
    if r[1] == "reg":
        groups.setdefault(r[4], []).append(r[0])
got = []
for path, kind, mode, size, ino, mtime, sha, target in rows:
    f = [esc(path), "type=" + kind]
    if kind != "symlink":
        f.append("mode=%04o" % mode)
    if kind == "reg":
        f += ["size=" + size.decode(), "sha256=" + sha.decode()]
        if len(groups[ino]) > 1:
            f.append("hardlink=" + esc(min(groups[ino])))
    elif kind == "symlink":
        f.append("target=" + esc(target))
    if path not in NO_MTIME and (expect or kind != "dir"):
        f.append("mtime=" + mtime.decode())
    got.append(" ".join(f).encode())
for out, lines in ((got_out, got), (want_out, want)):
    if out is None:
        continue
    with open(out, "wb") as f:
        f.write(b"".join(l + b"\n" for l in sorted(lines, key=lambda l: l.split(b" ")[0])))
PY
}

# The merged root of IMAGE (in the current SBX_ROOT) is the same as that of
# a clean pull of IMAGE into a fresh store: for pulls that were killed or
# raced, whatever sbx's unpacker does.
assert_same_tree_as_clean_pull() {
  local image=$1 t="$BATS_TEST_TMPDIR"
  list_container_root "$image" "$t/tree.got.raw"
  SBX_ROOT="$t/clean-store" sbx pull -q "$image" >/dev/null ||
    fail "the clean reference pull of $image failed"
  SBX_ROOT="$t/clean-store" list_container_root "$image" "$t/tree.want.raw"
  normalize_listing "$t/tree.got.raw" "$t/tree.got"
  normalize_listing "$t/tree.want.raw" "$t/tree.want"
  run diff -u "$t/tree.want" "$t/tree.got"
  assert_success
}

# ---- 1. pull, run, images, inspect -----------------------------------------

@test "images: pull busybox, run it, list it, inspect it, run its Cmd" {
  local ref="$REGISTRY/sbx-test/busybox" manifest config
  manifest=$(layout_digest busybox)
  config=$(layout_config busybox "$manifest")

  run sbx pull "$ref"
  assert_success
  assert_output --partial "Pulled: $manifest"

  run sbx run --rm "$ref" echo ok
  assert_success
  assert_output ok

  run sbx images
  assert_success
  assert_line --index 0 --regexp '^REPOSITORY +TAG +IMAGE ID'
  [ "$(awk -v r="$ref" '$1 == r && $2 == "latest" { print $3 }' <<<"$output")" = "${config:7:12}" ] ||
    fail "no line '$ref latest ${config:7:12}' in: $output"

  run sbx images --format json
  assert_success
  run python3 -c '
import json, sys
imgs = json.loads(sys.argv[1])
assert isinstance(imgs, list) and len(imgs) == 1, imgs
i = imgs[0]
assert i["Id"] == sys.argv[2], (i["Id"], sys.argv[2])
assert i["Digest"] == sys.argv[3], (i["Digest"], sys.argv[3])
assert sys.argv[4] + ":latest" in i["Names"], i["Names"]
print("ok")' "$output" "$config" "$manifest" "$ref"
  assert_success
  assert_output ok

  run sbx inspect "$ref"
  assert_success
  [ "$(jq -c '.[0].Config.config.Cmd' <<<"$output")" = '["sh"]' ] || fail "Cmd: $output"
  [ "$(jq -r '.[0].Id' <<<"$output")" = "$config" ] || fail "Id: $output"
  [ "$(jq -r '.[0].Config.config.Labels["org.sbx.test"]' <<<"$output")" = busybox ]

  # No command: the image's Cmd (sh) runs, reading its script from stdin.
  # shellcheck disable=SC2016 # expanded by the container's sh
  run sbx run --rm "$ref" <<<'echo hi; echo "$0"'
  assert_success
  assert_output "hi
sh"
}

# ---- 2. multi-layer ----------------------------------------------------------

@test "images: a multi-layer pull gives umoci's merged tree inside the container" {
  local ref="$REGISTRY/sbx-test/multilayer" t="$BATS_TEST_TMPDIR"
  run sbx pull -q "$ref"
  assert_success
  assert_output "$(layout_digest multilayer)"

  # Whiteouts, the opaque directory and replacements, spelled out.
  # shellcheck disable=SC2016 # expanded inside the container
  run sbx run --rm -v "$BB:/.sbx-bb:ro" "$ref" /.sbx-bb/busybox sh -c '
    B=/.sbx-bb/busybox
    for p in /deleted /deleted-dir /deleted-dir/a /opaque/lower-a /opaque/sub/lower-b \
      /opaque/new /links/dangling /dir-to-file/child; do
      if [ -e "$p" ] || [ -L "$p" ]; then echo "present: $p"; fi
    done
    echo "opaque: $($B ls -A /opaque | $B tr "\n" " ")"
    echo "opaque/sub: $($B ls -A /opaque/sub | $B tr "\n" " ")"
    echo "replaced: $($B cat /replaced)"
    echo "file-to-dir: $($B cat /file-to-dir/inner)"
    echo "dir-to-file: $($B cat /dir-to-file)"
    echo "to-be-file: $($B cat /links/to-be-file)"
    echo "rel: $($B cat /links/rel)"'
  assert_success
  assert_output "opaque: sub upper-a 
opaque/sub: upper-c 
replaced: two
file-to-dir: now a directory
dir-to-file: I was a directory
to-be-file: was a symlink
rel: lower"

  # Paths, types, modes, sizes, contents, link targets, hardlinks and mtimes
  # of the merged root, against umoci's unpack.
  list_container_root "$ref" "$t/listing"
  normalize_listing "$t/listing" "$t/got" "$IMAGES/multilayer.expect" "$t/want"
  run diff -u "$t/want" "$t/got"
  assert_success
}

@test "images: user.* xattrs of a layer are kept in its stored layer directory" {
  if ! python3 -c 'import os, sys; open(sys.argv[1], "w"); os.setxattr(sys.argv[1], "user.probe", b"1")' \
    "$BATS_TEST_TMPDIR/xattr-probe" 2>/dev/null; then
    skip "the filesystem under $BATS_TEST_TMPDIR has no user xattrs"
  fi
  local ref="$REGISTRY/sbx-test/multilayer" manifest config layer1
  manifest=$(layout_digest multilayer)
  config=$(layout_config multilayer "$manifest")
  layer1=$(jq -r '.rootfs.diff_ids[0]' "$(layout_blob multilayer "$config")")
  run sbx pull -q "$ref"
  assert_success
  [ -d "$SBX_ROOT/layers/${layer1#sha256:}/xattrs" ] || fail "no layer directory for $layer1"
  run python3 - "$SBX_ROOT/layers/${layer1#sha256:}" <<'PY'
import os, sys
d = sys.argv[1]
def user(p):
    return {n: os.getxattr(p, n, follow_symlinks=False)
            for n in os.listxattr(p, follow_symlinks=False) if n.startswith("user.sbx.")}
f = user(d + "/xattrs/file")
assert f == {"user.sbx.test": b"hello", "user.sbx.utf8": "gr\u00fc\u00dfe".encode()}, f
g = user(d + "/xattrs")
assert g == {"user.sbx.dir": b"d"}, g
print("ok")
PY
  assert_success
  assert_output ok
}

@test "images: layer owners map to subordinate ids (subuid mode)" {
  require_mode subuid
  local ref="$REGISTRY/sbx-test/multilayer" manifest config layer1 ubase gbase
  manifest=$(layout_digest multilayer)
  config=$(layout_config multilayer "$manifest")
  layer1=$(jq -r '.rootfs.diff_ids[0]' "$(layout_blob multilayer "$config")")
  ubase=$(awk -F: -v u="$(id -un)" '$1 == u { print $2; exit }' /etc/subuid)
  gbase=$(awk -F: -v u="$(id -un)" '$1 == u { print $2; exit }' /etc/subgid)
  [ -n "$ubase" ] && [ -n "$gbase" ] || fail "no /etc/subuid or /etc/subgid range for $(id -un)"
  run sbx pull -q "$ref"
  assert_success
  run sbx run --rm -v "$BB:/.sbx-bb:ro" "$ref" /.sbx-bb/busybox stat -c '%n %u:%g' /owned/alice /keep/file
  assert_success
  assert_output "/owned/alice 1000:1000
/keep/file 0:0"
  # Container uid N >= 1 is host uid base + N - 1; container root is us.
  run stat -c '%u:%g' "$SBX_ROOT/layers/${layer1#sha256:}/owned/alice"
  assert_output "$((ubase + 999)):$((gbase + 999))"
  run stat -c '%u:%g' "$SBX_ROOT/layers/${layer1#sha256:}/keep/file"
  assert_output "$(id -u):$(id -g)"
}

# ---- 3. multi-arch -----------------------------------------------------------

@test "images: a multi-arch pull picks this host's platform, --platform another" {
  local ref="$REGISTRY/sbx-test/multiarch" native other index mine theirs
  native=$(native_arch)
  case $native in
    amd64) other=arm64 ;;
    arm64) other=amd64 ;;
    *) skip "multiarch holds linux/amd64 and linux/arm64 only, this host is $native" ;;
  esac
  index=$(layout_blob multiarch "$(layout_digest multiarch)")
  mine=$(jq -r --arg a "$native" '.manifests[] | select(.platform.os == "linux" and .platform.architecture == $a) | .digest' "$index")
  theirs=$(jq -r --arg a "$other" '.manifests[] | select(.platform.os == "linux" and .platform.architecture == $a) | .digest' "$index")

  run sbx pull "$ref"
  assert_success
  assert_output --partial "Pulled: $mine"
  # The image's Cmd is cat /arch.
  run sbx run --rm "$ref"
  assert_success
  assert_output "arch=$native"
  run sbx inspect "$ref"
  assert_success
  [ "$(jq -r '.[0].Config.architecture' <<<"$output")" = "$native" ] || fail "$output"

  run sbx pull --platform "linux/$other" "$ref"
  assert_success
  assert_output --partial "Pulled: $theirs"
  run sbx inspect "$ref"
  assert_success
  [ "$(jq -r '.[0].Digest' <<<"$output")" = "$theirs" ] || fail "$output"
  [ "$(jq -r '.[0].Config.architecture' <<<"$output")" = "$other" ] || fail "$output"
  [ "$(jq -r '.[0].Config.os' <<<"$output")" = linux ]
}

# ---- 4. auth -------------------------------------------------------------------

@test "images: login, logout and ~/.docker/config.json against a registry with htpasswd" {
  local ref="$AUTH_REGISTRY/sbx-test/busybox" auth="$XDG_CONFIG_HOME/sbx/auth.json"
  export HOME="$BATS_TEST_TMPDIR/home"
  mkdir -p "$HOME"

  run sbx pull "$ref"
  assert_failure 125
  assert_output --partial "$AUTH_REGISTRY"
  assert_output --partial "sbx login"
  [ ! -e "$auth" ]

  run sbx login -u "$AUTH_USER" --password-stdin "$AUTH_REGISTRY" <<<"wrong-$AUTH_PASS"
  assert_failure
  [ ! -e "$auth" ] || ! grep -q "$AUTH_REGISTRY" "$auth" || fail "a failed login was stored: $(cat "$auth")"

  run sbx login -u "$AUTH_USER" --password-stdin "$AUTH_REGISTRY" <<<"$AUTH_PASS"
  assert_success
  [ -f "$auth" ] || fail "no $auth"
  run stat -c %a "$auth"
  assert_output 600
  [ "$(jq -r --arg r "$AUTH_REGISTRY" '.auths[$r].auth' "$auth" | base64 -d)" = "$AUTH_USER:$AUTH_PASS" ] ||
    fail "auth.json: $(cat "$auth")"

  run sbx pull "$ref"
  assert_success
  assert_output --partial "Pulled: $(layout_digest busybox)"
  run sbx run --rm "$ref" echo ok
  assert_output ok

  run sbx logout "$AUTH_REGISTRY"
  assert_success
  run jq -r --arg r "$AUTH_REGISTRY" '.auths[$r] // "gone"' "$auth"
  assert_output gone
  # A pull asks the registry again, whatever the store holds.
  run sbx pull "$ref"
  assert_failure 125
  assert_output --partial "sbx login"

  # Credentials in ~/.docker/config.json work too (a fresh store).
  mkdir -p "$HOME/.docker"
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$AUTH_REGISTRY" \
    "$(printf '%s:%s' "$AUTH_USER" "$AUTH_PASS" | base64 -w0)" >"$HOME/.docker/config.json"
  export SBX_ROOT="$BATS_TEST_TMPDIR/store-docker"
  run sbx pull "$ref"
  assert_success
  assert_output --partial "Pulled: $(layout_digest busybox)"
  run sbx images -q
  assert_output "$(layout_config busybox "$(layout_digest busybox)" | cut -c8-19)"
}

# ---- 5. push -------------------------------------------------------------------

@test "images: push a tagged image; skopeo reads it back; a second push uploads no blob" {
  local src="$REGISTRY/sbx-test/busybox" dst="$REGISTRY/sbx-test/pushed:v1" layers got before after
  run sbx pull -q "$src"
  assert_success
  run sbx tag "$src" "$dst"
  assert_success
  run sbx inspect "$src"
  assert_success
  layers=$(jq -r '[.[0].Manifest.layers[].digest] | join(" ")' <<<"$output")
  [ -n "$layers" ] || fail "no layers in: $output"

  before=$(log_count "$REGDIR" 'PUT|POST|PATCH' /v2/sbx-test/pushed/blobs/)
  run sbx push "$dst"
  assert_success
  after=$(log_count "$REGDIR" 'PUT|POST|PATCH' /v2/sbx-test/pushed/blobs/)
  [ "$after" -gt "$before" ] || fail "the first push uploaded nothing ($before -> $after)"

  run skopeo inspect --tls-verify=false "docker://$dst"
  assert_success
  got=$(jq -r '.Layers | join(" ")' <<<"$output")
  [ "$got" = "$layers" ] || fail "registry layers $got, source layers $layers"
  run skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$dst" "oci:$BATS_TEST_TMPDIR/copy:x"
  assert_success
  [ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$BATS_TEST_TMPDIR/copy/index.json")" = x ]

  before=$(log_count "$REGDIR" 'PUT|POST|PATCH' /v2/sbx-test/pushed/blobs/)
  run sbx push "$dst"
  assert_success
  after=$(log_count "$REGDIR" 'PUT|POST|PATCH' /v2/sbx-test/pushed/blobs/)
  [ "$after" -eq "$before" ] || fail "the second push uploaded blobs ($before -> $after upload requests)"
}

# ---- 6. bad digest -------------------------------------------------------------

@test "images: a blob that does not match its digest fails the pull and is not kept" {
  local ref="$REGISTRY/sbx-test/bad-digest" digest
  read -r digest _ <"$IMAGES/bad-digest.corrupt"
  run sbx pull "$ref"
  assert_failure 125
  assert_output --partial "$digest"
  assert_output --partial "digest"

  run sbx images -q
  assert_success
  assert_output ""
  [ ! -e "$SBX_ROOT/blobs/sha256/${digest#sha256:}" ] || fail "the corrupt blob was stored"
  run find "$SBX_ROOT/tmp" -mindepth 1 -name 'blob-*' ! -name '*.lock'
  assert_output ""
  run find "$SBX_ROOT/layers" -mindepth 1 -maxdepth 1
  assert_output ""
  assert_store_clean
}

# ---- 7. kill -9 during pull ----------------------------------------------------

@test "images: kill -9 during pull leaves a store that checks clean and pulls on" {
  local ref="$REGISTRY/sbx-test/multilayer" i pid st killed=0 t0 t1 span
  # How long a whole pull takes on this machine (then undo it): the kills
  # land at random moments within that span.
  t0=${EPOCHREALTIME/./}
  run sbx pull "$ref"
  assert_success
  t1=${EPOCHREALTIME/./}
  span=$(((t1 - t0) / 1000))
  [ "$span" -ge 5 ] || span=5
  run sbx rmi "$ref"
  assert_success
  # At least 5 rounds, and on until 3 kills landed inside a pull; a pull
  # that finished is removed again.
  for ((i = 1; i <= 30 && (i <= 5 || killed < 3); i++)); do
    "$SBX" pull "$ref" >/dev/null 2>&1 3>&- &
    pid=$!
    # The point is a random moment in the pull, not a wait.
    sleep "$(printf '0.%03d' $((RANDOM % span % 1000)))"
    kill -KILL "$pid" 2>/dev/null || true
    st=0
    wait "$pid" || st=$?
    run sbx system check
    assert_success
    assert_output --regexp '0 damaged; layers: [0-9]+ ok, 0 damaged; images: 0 incomplete'
    case $st in
      137) killed=$((killed + 1)) ;;
      0)
        run sbx rmi "$ref"
        assert_success
        ;;
      *) fail "round $i: the pull exited with $st before it was killed" ;;
    esac
  done
  [ "$killed" -ge 3 ] || fail "only $killed of $((i - 1)) kills landed inside a pull"
  run sbx pull "$ref"
  assert_success
  run sbx run --rm -v "$BB:/.sbx-bb:ro" "$ref" /.sbx-bb/busybox true
  assert_success
  assert_store_clean
  assert_same_tree_as_clean_pull "$ref"
}

# ---- 8. concurrent pulls -------------------------------------------------------

@test "images: 8 concurrent pulls succeed and fetch each blob once" {
  local ref="$REGISTRY/sbx-test/multilayer" manifest d i p rc=0 pids=() blobs=()
  declare -A before
  manifest=$(layout_digest multilayer)
  mapfile -t blobs < <(layout_layers multilayer "$manifest")
  blobs+=("$(layout_config multilayer "$manifest")")
  for d in "${blobs[@]}"; do
    before[$d]=$("$FIX/registry" blob-gets "$REGDIR" sbx-test/multilayer "$d")
  done
  for i in 1 2 3 4 5 6 7 8; do
    "$SBX" pull -q "$ref" >"$BATS_TEST_TMPDIR/pull-$i.out" 2>&1 3>&- &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || {
      rc=1
      echo "# pull $((i + 1)) failed: $(cat "$BATS_TEST_TMPDIR/pull-$((i + 1)).out")" >&3
    }
  done
  [ "$rc" -eq 0 ] || fail "some concurrent pulls failed"
  for i in 1 2 3 4 5 6 7 8; do
    [ "$(cat "$BATS_TEST_TMPDIR/pull-$i.out")" = "$manifest" ] ||
      fail "pull $i printed: $(cat "$BATS_TEST_TMPDIR/pull-$i.out")"
  done
  for d in "${blobs[@]}"; do
    p=$("$FIX/registry" blob-gets "$REGDIR" sbx-test/multilayer "$d")
    [ $((p - before[$d])) -eq 1 ] || fail "blob $d was fetched $((p - before[$d])) times"
  done
  assert_store_clean
  assert_same_tree_as_clean_pull "$ref"
}

# ---- 9. hostile layers ---------------------------------------------------------

@test "images: hostile layers fail or are tamed, and nothing is written outside the store" {
  local esc="$IMAGES/escape" n passwd stamp="$BATS_TEST_TMPDIR/stamp" found problems=()
  passwd=$(sha256sum </etc/passwd)
  touch "$stamp"
  for n in dotdot absolute symlink hardlink device whiteout truncated; do
    run sbx pull "$REGISTRY/sbx-test/hostile-$n"
    case $status in
      0)
        [ "$n" != truncated ] || problems+=("hostile-truncated was pulled: $output")
        if [ "$n" = device ]; then
          [[ $output == *"device node skipped"* ]] || problems+=("hostile-device: no warning: $output")
        fi
        ;;
      125)
        [[ ${lines[-1]} == "sbx: "*"hostile-$n"* ]] || problems+=("hostile-$n: unclear message: $output")
        ;;
      *) problems+=("hostile-$n: exit $status: $output") ;;
    esac
    found=$(find "$esc" -mindepth 1 -printf '%P ')
    [ "$found" = "secret " ] || problems+=("after hostile-$n, $esc holds: $found")
    [ "$(cat "$esc/secret")" = secret ] || problems+=("after hostile-$n, $esc/secret holds: $(cat "$esc/secret")")
    [ "$(sha256sum </etc/passwd)" = "$passwd" ] || problems+=("after hostile-$n, /etc/passwd changed")
  done
  # No device node made it into a layer.
  found=$(find "$SBX_ROOT/layers" \( -type c -o -type b \) 2>/dev/null)
  [ -z "$found" ] || problems+=("device nodes in the store: $found")
  # Nothing named like a hostile target appeared outside the store.
  found=$(
    {
      find "$HOME" "$BATS_TEST_TMPDIR" "$BATS_FILE_TMPDIR" -xdev -newer "$stamp" -not -path "$SBX_ROOT/*"
      find / /tmp -xdev -maxdepth 2 -newer "$stamp"
    } 2>/dev/null | grep -E '/(dotdot-[a-z]+|absolute|absdir|through-[a-z]+|sbx-whiteout-parent)$' || true
  )
  [ -z "$found" ] || problems+=("written outside the store: $found")
  [ ${#problems[@]} -eq 0 ] || fail "$(printf '%s\n' "${problems[@]}")"
  assert_store_clean
}

@test "images: a pull that fails while unpacking leaves no staging directory behind" {
  local n
  for n in truncated dotdot; do
    run sbx pull "$REGISTRY/sbx-test/hostile-$n"
    assert_failure 125
  done
  run find "$SBX_ROOT/tmp" -mindepth 1 -maxdepth 1 ! -name '*.lock'
  assert_success
  assert_output ""
  run sbx system check
  assert_success
  refute_output --partial "left over"
}

# ---- 10. up to date ------------------------------------------------------------

@test "images: a second pull is up to date and downloads no blob" {
  local ref="$REGISTRY/sbx-test/busybox" before after
  run sbx pull "$ref"
  assert_success
  assert_output --partial "Pulled:"
  before=$("$FIX/registry" blob-gets "$REGDIR" sbx-test/busybox)
  run sbx pull "$ref"
  assert_success
  assert_output --partial "up to date"
  after=$("$FIX/registry" blob-gets "$REGDIR" sbx-test/busybox)
  [ "$after" -eq "$before" ] || fail "blob GETs went from $before to $after"
  run sbx run --rm "$ref" echo ok
  assert_output ok
}

# ---- 11. rmi and prune ---------------------------------------------------------

@test "images: rmi refuses an image in use, prune -a keeps it, then both remove everything" {
  local bb="$REGISTRY/sbx-test/busybox" ml="$REGISTRY/sbx-test/multilayer" ctl="$BATS_TEST_TMPDIR/ctl" pid
  local bbid mlid
  bbid=$(layout_config busybox "$(layout_digest busybox)" | cut -c8-19)
  mlid=$(layout_config multilayer "$(layout_digest multilayer)" | cut -c8-19)
  run sbx pull -q "$bb"
  assert_success
  run sbx pull -q "$ml"
  assert_success

  mkdir -p "$ctl"
  "$SBX" run --rm -v "$ctl:/ctl" "$bb" sh -c 'touch /ctl/up; while [ ! -e /ctl/stop ]; do sleep 0.1; done' 3>&- &
  pid=$!
  wait_for 20 test -e "$ctl/up" || fail "the container did not start"

  run sbx rmi "$bb"
  assert_failure
  assert_output --partial "in use"
  run sbx images -q
  assert_line "$bbid"

  # prune -a removes the unused image and keeps the one in use.
  run sbx image prune -a
  assert_success
  run sbx images -q
  assert_output "$bbid"

  touch "$ctl/stop"
  wait "$pid" || fail "the container exited with $?"

  run sbx rmi "$bb"
  assert_success
  assert_output --partial "Untagged: $bb:latest"
  run sbx images -q
  assert_output ""
  run find "$SBX_ROOT/blobs" "$SBX_ROOT/layers" -mindepth 2
  assert_success
  assert_output ""
  assert_store_clean

  # prune -a with nothing in use removes every image.
  run sbx pull -q "$ml"
  assert_success
  run sbx images -q
  assert_output "$mlid"
  run sbx image prune -a
  assert_success
  run sbx images -q
  assert_output ""
  run find "$SBX_ROOT/blobs" "$SBX_ROOT/layers" -mindepth 2
  assert_output ""
  assert_store_clean
}

@test "images: rmi and image prune print each line once into a pipe" {
  local bb="$REGISTRY/sbx-test/busybox"
  run sbx pull -q "$bb"
  assert_success
  run sbx rmi "$bb"
  assert_success
  [ "$(grep -c "^Untagged: $bb:latest\$" <<<"$output")" -eq 1 ] || fail "rmi printed: $output"
  [ "$(grep -c '^Deleted: ' <<<"$output")" -eq 1 ] || fail "rmi printed: $output"
  run sbx pull -q "$bb"
  assert_success
  run sbx image prune -a
  assert_success
  [ "$(grep -c "^Untagged: $bb:latest\$" <<<"$output")" -eq 1 ] || fail "prune printed: $output"
}

# ---- 12. missing images, invalid references --------------------------------------

@test "images: run --pull=never of a missing image fails without asking the registry" {
  local before
  before=$(wc -l <"$REGDIR/log")
  run sbx run --pull=never --rm "$REGISTRY/sbx-test/busybox" true
  assert_failure 125
  assert_output --partial "no such image"
  [ "$(wc -l <"$REGDIR/log")" -eq "$before" ] || fail "the registry was asked"
}

@test "images: invalid references fail with one line naming the problem" {
  run sbx pull 'Bad/Name'
  assert_failure 125
  [ "${#lines[@]}" -eq 1 ] || fail "more than one line: $output"
  assert_output --partial "Bad/Name"
  assert_output --partial "lowercase"
  run sbx pull 'x:'
  assert_failure 125
  [ "${#lines[@]}" -eq 1 ] || fail "more than one line: $output"
  assert_output --partial "x:"
  assert_output --partial "tag"
}
