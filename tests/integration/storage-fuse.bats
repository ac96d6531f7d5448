#!/usr/bin/env bats
# The storage conformance suite (storage-conformance.bash) on sbx's own FUSE
# overlay (--storage-driver=fuse), and what a SIGKILL of sbx mid-write leaves.

load helpers
# shellcheck disable=SC2034 # read by storage-conformance.bash
DRIVER=fuse
load storage-conformance

setup_file() { storage_setup_file; }
teardown_file() { storage_teardown_file; }
setup() {
  storage_setup
  require_fuse_driver
}
teardown() {
  storage_teardown
  sbx_test_teardown
}

@test "storage-fuse: the container's root is the driver's file system" { conformance_driver_in_use; }
@test "storage-fuse: lookup through the layer stack; reading copies nothing up" { conformance_lookup; }
@test "storage-fuse: merged readdir lists each entry once" { conformance_readdir; }
@test "storage-fuse: copy-up on first write or metadata change; the lower file is untouched" { conformance_copy_up; }
@test "storage-fuse: a deleted lower file leaves a whiteout, an opaque directory hides the lower entries, across restarts" { conformance_whiteout_opaque; }
@test "storage-fuse: rename of lower files and directories keeps their contents" { conformance_rename; }
@test "storage-fuse: hardlinks made in the container, to lower and to new files" { conformance_hardlinks; }
@test "storage-fuse: a lower hardlink pair stays one inode after copy-up, and so does a link made to a lower file" { conformance_hardlinks_lower_pair; }
@test "storage-fuse: symlinks: read, follow, write through, create, replace, copy up" { conformance_symlinks; }
@test "storage-fuse: chmod, chown, utimens and truncate" { conformance_attributes; }
@test "storage-fuse: user xattrs" { conformance_xattrs; }
@test "storage-fuse: mknod of fifos and sockets" { conformance_special_files; }
@test "storage-fuse: statfs" { conformance_statfs; }
@test "storage-fuse: fsync, fdatasync, syncfs" { conformance_fsync; }
@test "storage-fuse: a --rm container's writable layer is volatile, a kept one's is not" { conformance_volatile_rm; }
@test "storage-fuse: flock and fcntl locks" { conformance_locks; }
@test "storage-fuse: st_ino is the same before and after copy-up" { conformance_inodes_copy_up; }
@test "storage-fuse: st_ino stays across a directory's copy-up, rename and lookups" { conformance_inodes_stable; }
@test "storage-fuse: O_TMPFILE, unnamed and linked in" { conformance_tmpfile; }
@test "storage-fuse: unlink of an open file keeps it readable" { conformance_unlink_open; }
@test "storage-fuse: mmap writes persist" { conformance_mmap; }

# ---- SIGKILL of sbx mid-write ------------------------------------------------

# The pids of this user's processes that hold /dev/fuse open and whose command
# line holds PATTERN (the FUSE server is a fork of sbx: it has sbx's).
fuse_holders() {
  local p fd
  for p in $(pgrep -u "$(id -u)" -f "$1"); do
    for fd in "/proc/$p/fd"/*; do
      if [ "$(readlink "$fd" 2>/dev/null)" = /dev/fuse ]; then
        echo "$p"
        break
      fi
    done
  done
}

no_fuse_holders() { [ -z "$(fuse_holders "$1")" ]; }

# This user's processes and their open files, for a failure message.
ps_fds() {
  local p
  for p in $(pgrep -u "$(id -u)"); do
    echo "$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-100)"
    echo "   $(find "/proc/$p/fd" -mindepth 1 -printf '%l ' 2>&1)"
  done
}

upper_file_at_least() {
  [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]
}

@test "storage-fuse: SIGKILL of sbx mid-write leaves no process and no mount; the container starts again" {
  # Every sbx here gets --root "$SBX_ROOT" (this test's own store), so that
  # its processes, the FUSE server included, can be told by command line.
  local tag="fusekill$RANDOM$RANDOM" pid holders mounts_before state
  mounts_before=$(grep fuse /proc/self/mountinfo || true)
  # About 1 GiB through the FUSE mount, killed after 8 MiB.
  # shellcheck disable=SC2016 # expanded by the container's shell
  printf '%s\n' 'grep " / / " /proc/self/mountinfo >/ctl/root-mount' 'touch /ctl/started' \
    'dd if=/dev/zero of="/big-$1" bs=64k count=16384 2>/dev/null' 'echo finished' >"$CTL/step.sh"
  touch "$BATS_TEST_TMPDIR/created"
  "$SBX" --root "$SBX_ROOT" run --storage-driver=fuse --name c -e PATH=/.bb -v "$BB:/.bb:ro" \
    -v "$HDIR:/.h:ro" -v "$CTL:/ctl" "$ML" sh /ctl/step.sh "$tag" >"$BATS_TEST_TMPDIR/run.out" 2>&1 3>&- &
  pid=$!
  wait_for 30 test -e "$CTL/started" || fail "the container did not start: $(cat "$BATS_TEST_TMPDIR/run.out")"
  load_upper
  wait_for 60 upper_file_at_least "$UPPER/big-$tag" $((8 << 20)) ||
    fail "nothing was written: $(ls -l "$UPPER") $(cat "$BATS_TEST_TMPDIR/run.out")"
  holders=$(fuse_holders "$SBX_ROOT" | tr '\n' ' ')
  [ -n "${holders// /}" ] ||
    fail "no process of this run holds /dev/fuse: is this the fuse driver? root: $(cat "$CTL/root-mount")
sbx run said: $(cat "$BATS_TEST_TMPDIR/run.out")
$(ps_fds)"
  kill -KILL "$pid" || fail "sbx exited before the kill: $(cat "$BATS_TEST_TMPDIR/run.out")"
  wait "$pid" || true
  ! grep -q finished "$BATS_TEST_TMPDIR/run.out" || fail "the write finished before the kill"

  # Nothing of the container or of the FUSE server is left, nothing mounted.
  wait_for 10 no_pids "$tag" || fail "processes left: $(pgrep -a -f "$tag")"
  wait_for 10 no_pids "$SBX_ROOT" || fail "processes left: $(pgrep -a -f "$SBX_ROOT")"
  no_fuse_holders "$SBX_ROOT" || fail "processes hold /dev/fuse: $(fuse_holders "$SBX_ROOT")"
  [ "$(grep fuse /proc/self/mountinfo || true)" = "$mounts_before" ] ||
    fail "fuse mounts changed: $(grep fuse /proc/self/mountinfo)"
  run sbx ps -a --format json
  assert_success
  state=$(jq -r '.[] | select(.Names[0] == "c") | .State' <<<"$output")
  [ "$state" != running ] || fail "c is still running according to sbx ps: $output"

  # The container starts again, with what was written before the kill; a new
  # container runs too; neither leaves a process behind.
  # shellcheck disable=SC2016 # expanded by the container's shell
  printf '%s\n' 'echo "$(stat -c %s "/big-$1" | sed "s/^[1-9][0-9]\{6,\}$/large/")"' 'echo after >/after' \
    'cat /after' 'rm "/big-$1"' >"$CTL/step.sh"
  run sbx --root "$SBX_ROOT" start -a c
  assert_success
  assert_output "large
after"
  assert_upper_content after after
  assert_not_in_upper "big-$tag"
  run sbx --root "$SBX_ROOT" run --rm --storage-driver=fuse -v "$BB:/.bb:ro" "$ML" /.bb/cat /keep/file
  assert_success
  assert_output keep
  no_pids "$SBX_ROOT" || fail "processes left after the runs: $(pgrep -a -f "$SBX_ROOT")"
}

# The read-ahead (src/overlay/fusefs/prefetch.c) answers a walk's lookups
# from results made before the walk asked.  Run the same walk and changes
# with it (by default) and without it (SBX_FUSE_SPIN_US=0: the receiver
# never polls, so it never reads ahead): the container must see the same.
@test "storage-fuse: directories read ahead show what lookups without read-ahead show, also after changes" {
  # shellcheck disable=SC2016 # expanded by the container's shell
  # ls -l reads / with attributes: its subdirectories are read ahead while
  # the shell starts the next commands.
  local script='ls -ln / >/dev/null
chmod 600 /modes/exec
rm /modes/zero
echo added >/modes/added
mkdir /opaque/newdir
mv /old-dir /moved-dir
find / -xdev ! -path /proc ! -path /sys ! -path /dev | sort | while read -r p; do
  if [ -d "$p" ] && [ ! -L "$p" ]; then stat -c "%n d %a %u %g %h" "$p"
  else stat -c "%n %F %a %u %g %s %h %N" "$p"; fi
done'
  local with without
  run sbx --log-level debug run --rm --storage-driver=fuse -e PATH=/.bb -v "$BB:/.bb:ro" "$ML" sh -c "$script"
  assert_success
  assert_output --partial 'reading directories ahead, the first: '
  with=$(grep -v '^sbx: ' <<<"$output")
  SBX_FUSE_SPIN_US=0 run sbx --log-level debug run --rm --storage-driver=fuse -e PATH=/.bb \
    -v "$BB:/.bb:ro" "$ML" sh -c "$script"
  assert_success
  refute_output --partial 'reading directories ahead'
  without=$(grep -v '^sbx: ' <<<"$output")
  [ "$with" = "$without" ] || fail "the walks differ: $(diff <(echo "$without") <(echo "$with"))"
  # And they saw the changes.
  grep -q '^/modes/exec regular file 600 ' <<<"$with" || fail "no chmod of /modes/exec in: $with"
  ! grep -q '^/modes/zero ' <<<"$with" || fail "/modes/zero was removed: $with"
  grep -q '^/modes/added regular file ' <<<"$with" || fail "no /modes/added in: $with"
  grep -q '^/moved-dir d ' <<<"$with" || fail "no /moved-dir in: $with"
  ! grep -q '^/old-dir' <<<"$with" || fail "/old-dir was moved: $with"
  [ "$(grep -c . <<<"$with")" -gt 30 ] || fail "a short walk: $with"
}
