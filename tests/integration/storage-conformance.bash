# shellcheck shell=bash
# The storage-driver conformance suite (DESIGN.md §4-5: both root filesystem
# drivers pass one shared suite), parametrized by $DRIVER (overlay or fuse).
# storage-overlay.bats and storage-fuse.bats load helpers, set DRIVER, load
# this file and give each conformance_* function below a @test of its own.
#
# Lower layers: the multilayer fixture image (tests/fixtures/mkimages: three
# layers with whiteouts, an opaque directory, hardlinks, symlinks, user.*
# xattrs, odd modes, a fifo), pulled from a local docker-registry as
# images.bats does.  The image has no shell: a static busybox and its applets
# are bound at /.bb (PATH=/.bb), the test helpers (fsprobe) at /.h.
#
# Each test keeps one container, `c`, whose command is `sh /ctl/step.sh`.
# `step SCRIPT` writes SCRIPT there and runs it: the first time with `sbx run
# --name c --storage-driver=$DRIVER`, then with `sbx start -a c`, so what a
# step changed is checked again after a restart.  Every result is checked
# inside the container (the step's output) and on the host in the container's
# upper directory ($UPPER = $SBX_ROOT/containers/<id>/upper), whose format is
# the kernel overlay's whatever the driver: a whiteout is a 0/0 character
# device, an opaque directory carries user.overlay.opaque=y.  The host side
# reads it with stat and fsprobe as the test user: files the container's root
# made belong to the test user in both user-namespace modes (in subuid mode
# other container ids are subordinate ids, so only their metadata is read).
#
# One case is skipped for the kernel overlay, with the reason ($NO_INDEX): in
# a user namespace it has no inode index (origin file handles need
# CAP_DAC_READ_SEARCH in the initial user namespace), so copying up one name
# of a lower hardlink pair breaks the pair, and within a run a link made to a
# copied-up lower file shows another st_ino than the file (overlayfs.rst,
# "Non-standard behavior").  The fuse driver promises both (DESIGN.md §5).

# Each @test runs in a subshell of its own.
# shellcheck disable=SC2030,SC2031
# The scripts run by step are expanded by the container's shell.
# shellcheck disable=SC2016
# status, output and lines are set by bats' run.
# shellcheck disable=SC2154

FIX="$TESTS_DIR/fixtures"

# ---- setup ------------------------------------------------------------------

storage_setup_file() {
  # bats 1.8 cannot skip from setup_file: each test calls require_registry_tools.
  [ -z "$(registry_tools_missing)" ] || return 0
  export IMAGES="$BATS_FILE_TMPDIR/images" REGDIR="$BATS_FILE_TMPDIR/registry"
  "$FIX/mkimages" "$IMAGES"
  REGISTRY=$("$FIX/registry" start "$REGDIR")
  export REGISTRY ML="$REGISTRY/sbx-test/multilayer"
  "$FIX/push-images" "$REGDIR" "$IMAGES" multilayer
  # Static busybox with a link per applet, bound read-only at /.bb.
  export BB="$BATS_FILE_TMPDIR/bb"
  mkdir -p "$BB"
  cp "$(command -v busybox)" "$BB/busybox"
  local a
  for a in $("$BB/busybox" --list); do
    [ "$a" = busybox ] || ln -s busybox "$BB/$a"
  done
}

# Remove container c the way users do (its work directory holds what the
# kernel overlay left there, mode 000: a plain rm -rf cannot).
storage_teardown() {
  [ -e "$BATS_TEST_TMPDIR/created" ] || return 0
  local id
  id=$(sbx ps -a --format json | jq -r '.[] | select(.Names[0] == "c") | .Id')
  run sbx rm -f c
  assert_success
  [ -z "$id" ] || [ ! -e "$SBX_ROOT/containers/$id" ] || fail "sbx rm left $SBX_ROOT/containers/$id"
}

storage_teardown_file() {
  [ -z "${REGDIR:-}" ] || "$FIX/registry" stop "$REGDIR"
}

storage_setup() {
  require_userns
  require_registry_tools
  [ "$DRIVER" != fuse ] || require_fuse
  sbx_test_setup
  HDIR=${SBX_HELPERS:-$TESTS_DIR/../build/tests/helpers}
  PROBE="$HDIR/fsprobe"
  [ -x "$PROBE" ] || fail "no $PROBE: build it with make tests"
  CTL="$BATS_TEST_TMPDIR/ctl"
  mkdir -p "$CTL"
  UPPER=
  run sbx pull -q "$ML"
  assert_success
}

# The fuse driver must start: any failure fails the test (it is never skipped).
require_fuse_driver() {
  run sbx run --rm --storage-driver=fuse -v "$BB:/.bb:ro" "$ML" /.bb/true
  [ "$status" -eq 0 ] || fail "sbx run --storage-driver=fuse failed (exit $status): $output"
}

# ---- the container and its upper directory ------------------------------

# step SCRIPT: run SCRIPT (busybox sh, with P=/.h/fsprobe) in the test's
# container c; the first step creates it, later steps start it again.
step() {
  printf 'P=/.h/fsprobe\n%s\n' "$1" >"$CTL/step.sh"
  if [ -e "$BATS_TEST_TMPDIR/created" ]; then
    sbx start -a c
  else
    touch "$BATS_TEST_TMPDIR/created"
    sbx run --storage-driver="$DRIVER" --name c -e PATH=/.bb -v "$BB:/.bb:ro" \
      -v "$HDIR:/.h:ro" -v "$CTL:/ctl" "$ML" sh /ctl/step.sh
  fi
}

# Set UPPER to the upper directory of container c (after its first step).
load_upper() {
  local id
  id=$(sbx ps -a --format json | jq -r '.[] | select(.Names[0] == "c") | .Id')
  [ -n "$id" ] || fail "no container c in: $(sbx ps -a)"
  UPPER="$SBX_ROOT/containers/$id/upper"
  [ -d "$UPPER" ] || fail "no upper directory $UPPER"
}

# The only path REL has in the image's layer directories on the host.
lower_path() {
  local f found=()
  for f in "$SBX_ROOT"/layers/*/"$1"; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    found+=("$f")
  done
  [ ${#found[@]} -eq 1 ] || fail "expected one $1 in the layers, found: ${found[*]}"
  echo "${found[0]}"
}

# A fingerprint of a lower file (inode, mode, size, mtime, content).
lower_print() {
  local p
  p=$(lower_path "$1")
  echo "$(stat -c '%i %a %s %Y' "$p") $(sha256sum <"$p" | cut -d' ' -f1)"
}

# assert_upper_type REL 'TYPE' (as stat -c %F prints it)
assert_upper_type() {
  local got
  got=$(stat -c %F "$UPPER/$1" 2>&1) || true
  [ "$got" = "$2" ] || fail "upper/$1: expected a $2, got: $got"
}

assert_whiteout() {
  local got
  got=$(stat -c '%F %t:%T' "$UPPER/$1" 2>&1) || true
  [ "$got" = "character special file 0:0" ] || fail "upper/$1: expected a whiteout (0/0 character device), got: $got"
}

assert_opaque() {
  local got
  got=$("$PROBE" xattr-get "$UPPER/$1" user.overlay.opaque 2>&1) || true
  [ "$got" = y ] || fail "upper/$1: expected user.overlay.opaque=y, got: $got"
}

assert_not_opaque() {
  local got
  if got=$("$PROBE" xattr-get "$UPPER/$1" user.overlay.opaque 2>&1); then
    fail "upper/$1 carries user.overlay.opaque=$got"
  fi
}

assert_not_in_upper() {
  if [ -e "$UPPER/$1" ] || [ -L "$UPPER/$1" ]; then
    fail "upper/$1 exists: $(stat -c '%F' "$UPPER/$1")"
  fi
}

# assert_upper_content REL CONTENT
assert_upper_content() {
  local got
  got=$(cat "$UPPER/$1" 2>&1) || true
  [ "$got" = "$2" ] || fail "upper/$1: expected content '$2', got '$got'"
}

# assert_upper_stat REL FORMAT EXPECTED
assert_upper_stat() {
  local got
  got=$(stat -c "$2" "$UPPER/$1" 2>&1) || true
  [ "$got" = "$3" ] || fail "upper/$1: stat -c '$2': expected '$3', got '$got'"
}

# The mount points sbx makes for a container: all a read-only container may
# leave in its upper directory.
RUNTIME_UPPER=".bb
.h
ctl
dev
etc
etc/hosts
etc/resolv.conf
proc
sys"

# Why the kernel overlay skips the lower-hardlink case.
NO_INDEX="the kernel overlay has no inode index in a user namespace (origin file handles need CAP_DAC_READ_SEARCH in the initial one): copying up one name of a lower hardlink breaks the pair, and a link made to a copied-up lower file shows another st_ino until the next start (overlayfs.rst, Non-standard behavior)"

LONG_FILE="/long/$(printf 'd%.0s' {1..200})/$(printf 'f%.0s' {1..100})"

# ---- the cases ----------------------------------------------------------------

conformance_driver_in_use() {
  run step 'sed -n "s/^[0-9]* [0-9]* [^ ]* [^ ]* \/ .* - \([^ ]*\) .*/\1/p" /proc/self/mountinfo
$P statfs / | cut -d" " -f1'
  assert_success
  case $DRIVER in
    overlay) assert_output "overlay
type=0x794c7630" ;;
    fuse) assert_output --regexp '^fuse(\.[a-z0-9-]+)?
type=0x65735546$' ;;
  esac
  run sbx ps -a --format json
  assert_success
  [ "$(jq -r '.[0].StorageDriver' <<<"$output")" = "$DRIVER" ] || fail "ps: $output"
  run sbx ps -a
  assert_success
  assert_line --regexp ' c$'
}

conformance_lookup() {
  local lt
  lt=$(lower_print keep/file)
  run step 'for p in /lower-target /file-to-dir/inner /dir-to-file /replaced /links/to-be-file \
  /links/rel /links/chain /keep/file /opaque/upper-a /opaque/sub/upper-c /gnu/long-hardlink /hl/c /hl-lower; do
  echo "$p: $(cat "$p")"
done
cat "'"$LONG_FILE"'"
for p in /deleted /deleted-dir /deleted-dir/a /opaque/lower-a /opaque/sub/lower-b /opaque/new \
  /links/dangling /dir-to-file/child /keep/nonexistent /nonexistent; do
  if [ -e "$p" ] || [ -L "$p" ]; then echo "present: $p"; fi
done
stat -c "%n %F %a %s %Y" /modes/zero /modes/suid /old /fifo /big
stat -c "%n %F %a %Y" /modes/sgid-dir /modes/sticky /old-dir /opaque
stat -c "%n %F %N" /links/abs /links/dir'
  assert_success
  assert_output "/lower-target: lower
/file-to-dir/inner: now a directory
/dir-to-file: I was a directory
/replaced: two
/links/to-be-file: was a symlink
/links/rel: lower
/links/chain: lower
/keep/file: keep
/opaque/upper-a: upper a
/opaque/sub/upper-c: upper c
/gnu/long-hardlink: over 100
/hl/c: hardlinked
/hl-lower: lower
over 255
/modes/zero regular file 0 5 1700000000
/modes/suid regular file 4755 10 1700000000
/old regular file 644 10 978307200
/fifo fifo 644 0 1700000000
/big regular file 644 102400 1700000000
/modes/sgid-dir directory 2775 1700000000
/modes/sticky directory 1777 1700000000
/old-dir directory 755 978307200
/opaque directory 755 1700000000
/links/abs symbolic link '/links/abs' -> '/etc/hostname'
/links/dir symbolic link '/links/dir' -> '../keep'"

  # Reading copies nothing up.
  load_upper
  run bash -c "find '$UPPER' -mindepth 1 -printf '%P\n' | LC_ALL=C sort"
  assert_success
  assert_output "$RUNTIME_UPPER"
  [ "$(lower_print keep/file)" = "$lt" ] || fail "the lower keep/file changed"

  # A name that was looked up and missing can be created, and is found after
  # a restart.
  run step '[ -e /keep/new ] || echo absent
echo created >/keep/new
cat /keep/new'
  assert_success
  assert_output "absent
created"
  run step 'cat /keep/new /keep/file'
  assert_success
  assert_output "created
keep"
  assert_upper_content keep/new created
  assert_not_in_upper keep/file
}

conformance_readdir() {
  run step 'ls -A /modes | tr "\n" " "; echo
touch /modes/new-upper
chmod 700 /modes/exec
rm /modes/zero
mkdir /modes/newdir
ls -A /modes | tr "\n" " "; echo
echo "dups: $(ls -A /modes | sort | uniq -d | tr "\n" " ")"
echo "dots: $(ls -a /modes | grep -c "^\.$") $(ls -a /modes | grep -c "^\.\.$")"
i=0
while [ $i -lt 2000 ]; do
  : >/keep/a-rather-long-file-name-to-need-several-getdents-calls-$i
  i=$((i + 1))
done
echo "keep: $(ls -A /keep | wc -l) entries, $(ls -A /keep | sort | uniq -d | wc -l) twice, $(find /keep -mindepth 1 | wc -l) found"
ls -A /keep | grep -c "^a-rather-long-file-name-to-need-several-getdents-calls-[0-9]*$"
ls -A / | tr "\n" " "; echo'
  assert_success
  local root=".bb .h big ctl dev dir-to-file empty etc fifo file-to-dir gnu hl hl-lower keep links long lower-target modes old old-dir opaque owned proc replaced sys xattrs "
  local after="chmod-me exec new-upper newdir private ro-empty sgid sgid-dir sticky suid "
  assert_output "chmod-me exec private ro-empty sgid sgid-dir sticky suid zero 
$after
dups: 
dots: 1 1
keep: 2001 entries, 0 twice, 2001 found
2000
$root"

  load_upper
  assert_not_opaque modes
  assert_whiteout modes/zero
  assert_upper_type modes/new-upper "regular empty file"
  assert_upper_type modes/newdir directory
  [ "$(find "$UPPER/keep" -mindepth 1 | wc -l)" -eq 2000 ] || fail "upper/keep: $(find "$UPPER/keep" -mindepth 1 | wc -l) entries"

  # The same after a restart.
  run step 'ls -A /modes | tr "\n" " "; echo
echo "keep: $(ls -A /keep | wc -l) entries, $(ls -A /keep | sort | uniq -d | wc -l) twice"'
  assert_success
  assert_output "$after
keep: 2001 entries, 0 twice"
}

conformance_copy_up() {
  local keep old xf big
  keep=$(lower_print keep/file)
  old=$(lower_print old)
  xf=$(lower_print xattrs/file)
  big=$(lower_print big)
  run step 'echo appended >>/keep/file
cat /keep/file
stat -c "%n %a %Y" /keep
chmod 600 /old
stat -c "%n %a %s %Y" /old
cat /old
$P xattr-set /xattrs/file user.sbx.added 1
$P xattr-list /xattrs/file
$P xattr-get /xattrs/file user.sbx.test
printf Z | dd of=/big bs=1 seek=50000 conv=notrunc 2>/dev/null
stat -c "%n %s" /big
echo more >>/modes/zero
stat -c "%n %a" /modes/zero
cat /modes/zero'
  assert_success
  assert_output "keep
appended
/keep 755 1700000000
/old 600 10 978307200
from 2001
user.sbx.added
user.sbx.test
user.sbx.utf8
hello
/big 102400
/modes/zero 0
zero
more"

  load_upper
  # The lower files are untouched.
  [ "$(lower_print keep/file)" = "$keep" ] || fail "the lower keep/file changed: $keep -> $(lower_print keep/file)"
  [ "$(lower_print old)" = "$old" ] || fail "the lower old changed: $old -> $(lower_print old)"
  [ "$(lower_print xattrs/file)" = "$xf" ] || fail "the lower xattrs/file changed"
  [ "$(lower_print big)" = "$big" ] || fail "the lower big changed"
  run "$PROBE" xattr-list "$(lower_path xattrs/file)"
  assert_output "user.sbx.test
user.sbx.utf8"
  # The copies in the upper directory.
  assert_upper_content keep/file "keep
appended"
  assert_not_opaque keep
  assert_upper_stat old '%a %s %Y' "600 10 978307200"
  assert_upper_content old "from 2001"
  run "$PROBE" xattr-get "$UPPER/xattrs/file" user.sbx.test
  assert_output hello
  run "$PROBE" xattr-get "$UPPER/xattrs/file" user.sbx.added
  assert_output 1
  assert_upper_stat big %s 102400
  run cmp -n 50000 "$(lower_path big)" "$UPPER/big"
  assert_success
  run cmp -i 50001 "$(lower_path big)" "$UPPER/big"
  assert_success
  [ "$(dd if="$UPPER/big" bs=1 skip=50000 count=1 2>/dev/null)" = Z ] || fail "upper/big: byte 50000 is not Z"
  assert_upper_stat modes/zero %a 0

  run step 'cat /keep/file; stat -c "%n %a %Y" /old; $P xattr-get /xattrs/file user.sbx.added'
  assert_success
  assert_output "keep
appended
/old 600 978307200
1"
}

conformance_whiteout_opaque() {
  run step 'rm /keep/file
[ -e /keep/file ] || echo "keep/file: gone"
echo "keep: $(ls -A /keep | wc -l) entries"
rm -r /hl
[ -e /hl ] || echo "hl: gone"
rm /fifo /links/abs
ls -A /links | tr "\n" " "; echo
rm -rf /modes
mkdir /modes
: >/modes/fresh
echo "modes: $(ls -A /modes)"
echo "modes xattrs: $($P xattr-list /modes | tr "\n" " ")"
rm -rf /opaque/sub
ls -A /opaque | tr "\n" " "; echo'
  assert_success
  assert_output "keep/file: gone
keep: 0 entries
hl: gone
chain dir rel to-be-file 
modes: fresh
modes xattrs: 
upper-a "

  load_upper
  assert_whiteout keep/file
  assert_whiteout hl
  assert_whiteout fifo
  assert_whiteout links/abs
  assert_whiteout opaque/sub
  assert_opaque modes
  run find "$UPPER/modes" -mindepth 1 -printf '%P\n'
  assert_output fresh
  run sbx diff c
  assert_success
  assert_line "D /keep/file"
  assert_line "D /hl"

  # Still gone after a restart; then a file and a directory over whiteouts.
  run step '[ -e /keep/file ] || echo "keep/file: gone"
[ -e /hl ] || echo "hl: gone"
echo "modes: $(ls -A /modes)"
echo new >/keep/file
cat /keep/file
mkdir /hl
echo "hl: $(ls -A /hl | tr "\n" " ")"'
  assert_success
  assert_output "keep/file: gone
hl: gone
modes: fresh
new
hl: "
  assert_upper_type keep/file "regular file"
  assert_upper_content keep/file new
  assert_upper_type hl directory
  assert_opaque hl

  run step 'cat /keep/file; echo "hl: $(ls -A /hl | tr "\n" " ")"; echo "modes: $(ls -A /modes)"'
  assert_success
  assert_output "new
hl: 
modes: fresh"
}

conformance_rename() {
  run step 'mv /keep/file /keep/moved
cat /keep/moved
[ -e /keep/file ] || echo "keep/file: gone"
$P rename /lower-target /renamed-target && cat /renamed-target
mv /old /replaced
cat /replaced
mv /file-to-dir /moved-dir
cat /moved-dir/inner
[ -e /file-to-dir ] || echo "file-to-dir: gone"
mv /long /long2
cat "/long2'"${LONG_FILE#/long}"'"
ls /long2 | wc -l
touch /opaque/sub/x
mv /opaque /opaque2
echo "opaque2: $(ls -A /opaque2 | tr "\n" " ")/ sub: $(ls -A /opaque2/sub | tr "\n" " ")"
r=$($P rename /hl /hl2 2>&1)
case $r in
  "" | *EXDEV*) echo "rename(2) of a lower directory: done or EXDEV" ;;
  *) echo "rename(2) of a lower directory: $r" ;;
esac
[ -d /hl2 ] || mv /hl /hl2
cat /hl2/a
stat -c "%n %a" /hl2/a /hl2'
  assert_success
  assert_output "keep
keep/file: gone
lower
from 2001
now a directory
file-to-dir: gone
over 255
4
opaque2: sub upper-a / sub: upper-c x 
rename(2) of a lower directory: done or EXDEV
hardlinked
/hl2/a 640
/hl2 755"

  load_upper
  assert_whiteout keep/file
  assert_upper_content keep/moved keep
  assert_whiteout lower-target
  assert_upper_content renamed-target lower
  assert_whiteout old
  assert_upper_content replaced "from 2001"
  assert_whiteout file-to-dir
  assert_upper_type moved-dir directory
  assert_whiteout long
  assert_whiteout opaque
  assert_whiteout hl
  assert_upper_type hl2 directory

  run step 'cat /keep/moved /renamed-target /replaced /moved-dir/inner "/long2'"${LONG_FILE#/long}"'" /hl2/a
for p in /keep/file /lower-target /old /file-to-dir /long /opaque /hl; do [ -e $p ] && echo "back: $p"; done
ls -A /opaque2/sub | tr "\n" " "'
  assert_success
  assert_output "keep
lower
from 2001
now a directory
over 255
hardlinked
upper-c x "
}

conformance_hardlinks() {
  run step 'ln /keep/file /keep/link
echo via-link >>/keep/link
cat /keep/file
stat -c %h /keep/file
echo up >/up-a
ln /up-a /up-b
stat -c %h /up-b
[ "$(stat -c %i /up-a)" = "$(stat -c %i /up-b)" ] && echo "up-a, up-b: one inode"'
  assert_success
  assert_output "keep
via-link
2
2
up-a, up-b: one inode"

  load_upper
  assert_upper_stat keep/link '%h' 2
  [ "$(stat -c %i "$UPPER/keep/file")" = "$(stat -c %i "$UPPER/keep/link")" ] ||
    fail "upper/keep/file and upper/keep/link are different inodes"
  [ "$(stat -c %i "$UPPER/up-a")" = "$(stat -c %i "$UPPER/up-b")" ] ||
    fail "upper/up-a and upper/up-b are different inodes"

  run step 'echo again >>/up-b
cat /up-a /keep/link
stat -c %h /keep/link /up-a
[ "$(stat -c %i /keep/file)" = "$(stat -c %i /keep/link)" ] && echo "keep/file, keep/link: one inode"
[ "$(stat -c %i /up-a)" = "$(stat -c %i /up-b)" ] && echo "up-a, up-b: one inode"'
  assert_success
  assert_output "up
again
keep
via-link
2
2
keep/file, keep/link: one inode
up-a, up-b: one inode"
}

conformance_hardlinks_lower_pair() {
  [ "$DRIVER" != overlay ] || skip "$NO_INDEX"
  run step 'ln /keep/file /keep/link
[ "$(stat -c %i /keep/file)" = "$(stat -c %i /keep/link)" ] && echo "keep/file, keep/link: one inode"
stat -c "%n %h" /hl/a /hl/b /hl/c
echo more >>/hl/b
cat /hl/a /hl/c
stat -c "%n %h" /hl/a /hl/b /hl/c
[ "$(stat -c %i /hl/a)" = "$(stat -c %i /hl/b)" ] && [ "$(stat -c %i /hl/a)" = "$(stat -c %i /hl/c)" ] && echo "hl/a, hl/b, hl/c: one inode"
echo x >>/lower-target
cat /hl-lower
[ "$(stat -c %i /lower-target)" = "$(stat -c %i /hl-lower)" ] && echo "lower-target, hl-lower: one inode"'
  assert_success
  assert_output "keep/file, keep/link: one inode
/hl/a 3
/hl/b 3
/hl/c 3
hardlinked
more
hardlinked
more
/hl/a 3
/hl/b 3
/hl/c 3
hl/a, hl/b, hl/c: one inode
lower
x
lower-target, hl-lower: one inode"

  load_upper
  local i
  i=$(stat -c %i "$UPPER/hl/b")
  if [ "$(stat -c %i "$UPPER/hl/a")" != "$i" ] || [ "$(stat -c %i "$UPPER/hl/c")" != "$i" ]; then
    fail "upper/hl/a, b and c are not one inode: $(stat -c '%n %i %h' "$UPPER"/hl/*)"
  fi
  assert_upper_stat hl/b %h 3

  run step 'cat /hl/a; stat -c %h /hl/c; [ "$(stat -c %i /hl/a)" = "$(stat -c %i /hl/c)" ] && echo "one inode"'
  assert_success
  assert_output "hardlinked
more
3
one inode"
}

conformance_symlinks() {
  run step 'for l in /links/abs /links/rel /links/dir /links/chain; do readlink $l; done
cat /links/chain /links/dir/file
ln -s /keep/file /sl
readlink /sl
cat /sl
echo through >>/links/rel
cat /lower-target
$P utimens /links/abs 1000 5
$P mtime /links/abs
readlink /links/abs
rm /links/dir
ln -s ../old /links/dir
cat /links/dir'
  assert_success
  assert_output "/etc/hostname
../lower-target
../keep
rel
lower
keep
/keep/file
keep
lower
through
1000.000000005
/etc/hostname
from 2001"

  load_upper
  assert_upper_stat sl %N "'$UPPER/sl' -> '/keep/file'"
  assert_upper_content lower-target "lower
through"
  assert_not_in_upper links/rel
  assert_upper_stat links/abs '%F %Y' "symbolic link 1000"
  assert_upper_stat links/dir %N "'$UPPER/links/dir' -> '../old'"

  run step 'for l in /sl /links/abs /links/dir; do readlink $l; done; $P mtime /links/abs; cat /links/rel'
  assert_success
  assert_output "/keep/file
/etc/hostname
../old
1000.000000005
lower
through"
}

conformance_attributes() {
  local mode chown_out
  mode=$(sbx_mode)
  if [ "$mode" = subuid ]; then
    chown_out="1000:1000"
  else
    # One id mapped: chown to another id is refused, to root works.
    chown_out="refused
0:0"
  fi
  run step 'chmod 751 /modes/chmod-me
stat -c "%n %a" /modes/chmod-me
$P utimens /old 1234567890 123456789
$P mtime /old
truncate -s 2 /replaced
echo "$(cat /replaced) $(stat -c %s /replaced)"
truncate -s 200000 /keep/file
echo "$(head -c 4 /keep/file) $(stat -c %s /keep/file)"
if ! chown 1000:1000 /empty 2>/dev/null; then
  echo refused
  chown 0:0 /empty
fi
stat -c %u:%g /empty'
  assert_success
  assert_output "/modes/chmod-me 751
1234567890.123456789
tw 2
keep 200000
$chown_out"

  load_upper
  assert_upper_stat modes/chmod-me %a 751
  [ "$(stat -c %a "$(lower_path modes/chmod-me)")" = 600 ] || fail "the lower modes/chmod-me changed its mode"
  assert_upper_stat old '%Y %y' "1234567890 $(date -d @1234567890.123456789 '+%Y-%m-%d %H:%M:%S.%N %z')"
  assert_upper_stat replaced %s 2
  assert_upper_content replaced tw
  assert_upper_stat keep/file %s 200000
  [ "$(stat -c %s "$(lower_path keep/file)")" = 5 ] || fail "the lower keep/file changed its size"
  if [ "$mode" = subuid ]; then
    local ubase gbase
    ubase=$(awk -F: -v u="$(id -un)" '$1 == u { print $2; exit }' /etc/subuid)
    gbase=$(awk -F: -v u="$(id -un)" '$1 == u { print $2; exit }' /etc/subgid)
    assert_upper_stat empty %u:%g "$((ubase + 999)):$((gbase + 999))"
  else
    assert_upper_stat empty %u:%g "$(id -u):$(id -g)"
  fi

  run step 'stat -c "%n %a" /modes/chmod-me; $P mtime /old; cat /replaced; echo; stat -c "%s %u:%g" /keep/file /empty'
  assert_success
  assert_output "/modes/chmod-me 751
1234567890.123456789
tw
200000 0:0
0 ${chown_out##*$'\n'}"
}

conformance_xattrs() {
  run step '$P xattr-list /xattrs/file
$P xattr-get /xattrs/file user.sbx.utf8
$P xattr-get /xattrs user.sbx.dir
$P xattr-set /xattrs/file user.sbx.new value
$P xattr-rm /xattrs/file user.sbx.test
$P xattr-list /xattrs/file
$P xattr-get /xattrs/file user.sbx.test 2>&1 | sed "s/.*(/removed: (/"
$P xattr-set /keep user.dir.x 1
$P xattr-get /keep user.dir.x
echo new >/newfile
$P xattr-set /newfile user.a b
$P xattr-get /newfile user.a
# The overlay format'"'"'s own xattrs cannot be forged from inside: refused, or
# kept as an ordinary xattr (the kernel escapes them); /keep stays merged.
$P xattr-set /keep user.overlay.opaque y 2>/dev/null || true
ls -A /keep'
  assert_success
  assert_output "user.sbx.test
user.sbx.utf8
grüße
d
user.sbx.new
user.sbx.utf8
removed: (ENODATA)
1
b
file"

  load_upper
  run bash -c "'$PROBE' xattr-list '$UPPER/xattrs/file' | grep '^user\.sbx\.'"
  assert_output "user.sbx.new
user.sbx.utf8"
  run "$PROBE" xattr-get "$UPPER/xattrs/file" user.sbx.new
  assert_output value
  run "$PROBE" xattr-get "$UPPER/keep" user.dir.x
  assert_output 1
  run "$PROBE" xattr-get "$UPPER/newfile" user.a
  assert_output b
  assert_not_opaque keep

  run step '$P xattr-list /xattrs/file; $P xattr-get /keep user.dir.x; ls -A /keep'
  assert_success
  assert_output "user.sbx.new
user.sbx.utf8
1
file"
}

conformance_special_files() {
  run step '$P mkfifo /f1
mkfifo /f2
$P mksock /s1
stat -c "%n %F" /f1 /f2 /s1 /fifo
(echo through-f1 >/f1 &)
cat /f1
(echo through-lower-fifo >/fifo &)
cat /fifo
mknod /null2 c 1 3 2>/dev/null || echo "mknod c 1 3: refused"'
  assert_success
  assert_output "/f1 fifo
/f2 fifo
/s1 socket
/fifo fifo
through-f1
through-lower-fifo
mknod c 1 3: refused"

  load_upper
  assert_upper_type f1 fifo
  assert_upper_type f2 fifo
  assert_upper_type s1 socket
  assert_not_in_upper null2

  run step 'stat -c "%n %F" /f1 /s1; (echo again >/f2 &); cat /f2'
  assert_success
  assert_output "/f1 fifo
/s1 socket
again"
}

conformance_statfs() {
  run step '$P statfs /
$P statfs /keep
df / | tail -n 1 | tr -s " " | cut -d" " -f2'
  assert_success
  load_upper
  local want_type line1 host_bytes got_bytes namelen kb
  case $DRIVER in
    overlay) want_type=0x794c7630 ;;
    fuse) want_type=0x65735546 ;;
  esac
  line1=${lines[0]}
  [[ $line1 == "type=$want_type "* ]] || fail "statfs /: $line1"
  [ "${lines[1]%% *}" = "type=$want_type" ] || fail "statfs /keep: ${lines[1]}"
  # The sizes are the upper directory's file system's.
  read -r host_bytes namelen < <(stat -f -c '%b %S %l' "$UPPER" | awk '{ print $1 * $2, $3 }')
  got_bytes=$(sed -E 's/.* bsize=([0-9]+) blocks=([0-9]+) .*/\1 \2/' <<<"$line1" | awk '{ print $1 * $2 }')
  awk -v a="$got_bytes" -v b="$host_bytes" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= b / 100) }' ||
    fail "statfs / says $got_bytes bytes, the upper file system has $host_bytes: $line1"
  [[ $line1 == *" namelen=$namelen" ]] || fail "statfs / namelen: $line1, the upper file system: $namelen"
  kb=${lines[2]}
  [ "$kb" -gt 0 ] || fail "df /: $output"
}

conformance_fsync() {
  run step '$P fsync /keep/file data1
$P fsync /newf data2
sync
cat /keep/file /newf
echo'
  assert_success
  assert_output "ok
ok
keep
data1data2"
  load_upper
  assert_upper_content keep/file "keep
data1"
  assert_upper_content newf data2
  run step 'cat /keep/file /newf'
  assert_success
  assert_output "keep
data1data2"
}

# A kept container's writable layer is synced as usual; a --rm one's is
# volatile (fsync need not reach the disk: it goes with the container).
conformance_volatile_rm() {
  local opts='sed -n "s/^[0-9]* [0-9]* [^ ]* [^ ]* \/ .* - [^ ]* [^ ]* \(.*\)/opts: \1/p" /proc/self/mountinfo'
  run step "$opts"
  assert_success
  assert_line --partial 'opts: '
  refute_output --partial volatile
  run sbx --log-level debug run --rm --storage-driver="$DRIVER" -e PATH=/.bb -v "$BB:/.bb:ro" \
    -v "$HDIR:/.h:ro" "$ML" sh -c "$opts; /.h/fsprobe fsync /newf data && cat /newf"
  assert_success
  case $DRIVER in
    overlay) assert_line --regexp '^opts: .*(,volatile|fsync=volatile)' ;;
    fuse) assert_line --regexp 'FUSE overlay server .* \(volatile: fsync answered at once\)' ;;
  esac
  assert_line ok
  assert_line data
}

conformance_locks() {
  run step 'for f in /keep/file /lk; do
  [ -e $f ] || echo x >$f
  $P flock $f
  $P fcntl-lock $f
done'
  assert_success
  local one="exclusive: ok
other open file: EWOULDBLOCK
after unlock: ok
write lock: ok
getlk: write lock held by the parent
setlk: EAGAIN
after unlock:
getlk: unlocked
setlk: ok"
  assert_output "$one
$one"
}

conformance_inodes_copy_up() {
  run step 'for f in /keep/file /old /xattrs/file /links/abs; do
  a=$($P stat-ino $f)
  case $f in
    /keep/file) echo x >>$f ;;
    /old) chmod 600 $f ;;
    /xattrs/file) $P xattr-set $f user.q 1 ;;
    /links/abs) $P utimens $f 1 1 ;;
  esac
  b=$($P stat-ino $f)
  [ "$a" = "$b" ] && echo "$f: same st_ino" || echo "$f: st_ino $a -> $b"
done'
  assert_success
  assert_output "/keep/file: same st_ino
/old: same st_ino
/xattrs/file: same st_ino
/links/abs: same st_ino"
}

conformance_inodes_stable() {
  run step 'a=$($P stat-ino /keep)
: >/keep/new
[ "$a" = "$($P stat-ino /keep)" ] && echo "dir copy-up: same st_ino"
echo u >/u
a=$($P stat-ino /u)
mv /u /u2
[ "$a" = "$($P stat-ino /u2)" ] && echo "rename: same st_ino"
a=$($P stat-ino /big)
cat /big >/dev/null
ls -l / >/dev/null
[ "$a" = "$($P stat-ino /big)" ] && echo "lookup again: same st_ino"
[ "$(stat -c %d /big)" = "$(stat -c %d /keep/new)" ] && echo "one st_dev"'
  assert_success
  assert_output "dir copy-up: same st_ino
rename: same st_ino
lookup again: same st_ino
one st_dev"
}

conformance_tmpfile() {
  run step '$P tmpfile /keep
echo "keep: $(ls -A /keep | tr "\n" " ")"
$P tmpfile /keep named hello
cat /keep/named; echo
mkdir /td
$P tmpfile /td n2 x
cat /td/n2; echo'
  assert_success
  assert_output "ok
keep: file 
ok
hello
ok
x"
  load_upper
  run find "$UPPER/keep" -mindepth 1 -printf '%P\n'
  assert_output named
  assert_upper_content keep/named hello
  run step 'cat /keep/named /td/n2'
  assert_success
  assert_output "hellox"
}

conformance_unlink_open() {
  run step '$P hold-open-unlink /keep/file
echo upper-data >/u
$P hold-open-unlink /u
echo x >>/old
$P hold-open-unlink /old
for p in /keep/file /u /old; do [ -e $p ] && echo "still there: $p"; done
ls -A /keep | wc -l'
  assert_success
  assert_output "keep
upper-data
from 2001
x
0"
  load_upper
  assert_whiteout keep/file
  assert_not_in_upper u
  assert_whiteout old
  run step 'for p in /keep/file /u /old; do [ -e $p ] && echo "back: $p"; done; echo done'
  assert_success
  assert_output "done"
}

conformance_mmap() {
  run step '$P mmap-write /big 4096 MMAP
$P mmap-read /big 4096 4
dd if=/big bs=1 skip=4096 count=4 2>/dev/null; echo
stat -c %s /big
printf 0123456789 >/m
$P mmap-write /m 2 ab
cat /m; echo
: >/grow
$P mmap-write /grow 5000 tail
stat -c %s /grow
$P mmap-write /keep/file 1 EEP no-msync'
  assert_success
  assert_output "MMAP
MMAP
102400
01ab456789
5004"
  load_upper
  [ "$(dd if="$UPPER/big" bs=1 skip=4096 count=4 2>/dev/null)" = MMAP ] || fail "upper/big: no MMAP at 4096"
  run cmp -n 4096 "$(lower_path big)" "$UPPER/big"
  assert_success
  run cmp -i 4100 "$(lower_path big)" "$UPPER/big"
  assert_success
  assert_upper_content m 01ab456789
  assert_upper_stat grow %s 5004
  # Dirty shared pages left to the kernel when the process exited.
  assert_upper_content keep/file kEEP

  run step 'dd if=/big bs=1 skip=4096 count=4 2>/dev/null; echo; cat /m; echo; tail -c 4 /grow; echo; cat /keep/file'
  assert_success
  assert_output "MMAP
01ab456789
tail
kEEP"
}
