#!/usr/bin/env bats
# The storage conformance suite (storage-conformance.bash) on the kernel
# overlay driver (--storage-driver=overlay).

load helpers
# shellcheck disable=SC2034 # read by storage-conformance.bash
DRIVER=overlay
load storage-conformance

setup_file() { storage_setup_file; }
teardown_file() { storage_teardown_file; }
setup() { storage_setup; }
teardown() {
  storage_teardown
  sbx_test_teardown
}

@test "storage-overlay: the container's root is the driver's file system" { conformance_driver_in_use; }
@test "storage-overlay: lookup through the layer stack; reading copies nothing up" { conformance_lookup; }
@test "storage-overlay: merged readdir lists each entry once" { conformance_readdir; }
@test "storage-overlay: copy-up on first write or metadata change; the lower file is untouched" { conformance_copy_up; }
@test "storage-overlay: a deleted lower file leaves a whiteout, an opaque directory hides the lower entries, across restarts" { conformance_whiteout_opaque; }
@test "storage-overlay: rename of lower files and directories keeps their contents" { conformance_rename; }
@test "storage-overlay: hardlinks made in the container, to lower and to new files" { conformance_hardlinks; }
@test "storage-overlay: a lower hardlink pair stays one inode after copy-up, and so does a link made to a lower file" { conformance_hardlinks_lower_pair; }
@test "storage-overlay: symlinks: read, follow, write through, create, replace, copy up" { conformance_symlinks; }
@test "storage-overlay: chmod, chown, utimens and truncate" { conformance_attributes; }
@test "storage-overlay: user xattrs" { conformance_xattrs; }
@test "storage-overlay: mknod of fifos and sockets" { conformance_special_files; }
@test "storage-overlay: statfs" { conformance_statfs; }
@test "storage-overlay: fsync, fdatasync, syncfs" { conformance_fsync; }
@test "storage-overlay: a --rm container's writable layer is volatile, a kept one's is not" { conformance_volatile_rm; }
@test "storage-overlay: flock and fcntl locks" { conformance_locks; }
@test "storage-overlay: st_ino is the same before and after copy-up" { conformance_inodes_copy_up; }
@test "storage-overlay: st_ino stays across a directory's copy-up, rename and lookups" { conformance_inodes_stable; }
@test "storage-overlay: O_TMPFILE, unnamed and linked in" { conformance_tmpfile; }
@test "storage-overlay: unlink of an open file keeps it readable" { conformance_unlink_open; }
@test "storage-overlay: mmap writes persist" { conformance_mmap; }
