#!/usr/bin/env bats
# The fuse storage driver: sbx's own FUSE overlay (src/overlay/fusefs) as the
# root of real containers, run as the unprivileged test user.  Busybox
# covers most of it; xattrs, mmap, locks and O_TMPFILE need the static
# helper tests/helpers/fsprobe, bind-mounted in (skipped without it).

load helpers

setup_file() { sbx_file_setup; }

setup() {
  sbx_test_setup
  require_userns
  require_fuse
  IMAGE=localhost/fusefs:1
  tar -C "$ROOTFS" --owner=0 --group=0 --numeric-owner -cf "$BATS_TEST_TMPDIR/rootfs.tar" .
  run sbx import "$BATS_TEST_TMPDIR/rootfs.tar" "$IMAGE"
  assert_success
}

fuse_run() {
  sbx run --rm --network=none --storage-driver=fuse "$@"
}

# A second image over $IMAGE with /data/{a,b (a hardlink of a),sub/f},
# committed from a container: LAYERED names it.
make_layered() {
  LAYERED=localhost/fusefs-layered:1
  run sbx run --name mk --network=none --storage-driver=fuse "$IMAGE" \
    sh -c 'mkdir -p /data/sub && echo f >/data/sub/f && echo a >/data/a && ln /data/a /data/b'
  assert_success
  run sbx commit mk "$LAYERED"
  assert_success
  run sbx rm mk
  assert_success
}

# The writable layer of the only kept container, and the image's only layer.
upper_dir() { echo "$SBX_ROOT"/containers/*/upper; }
layer_dir() { echo "$SBX_ROOT"/layers/*; }

fsprobe_args() {
  local probe=${SBX_HELPERS:-}/fsprobe
  if [ -z "${SBX_HELPERS:-}" ] || [ ! -x "$probe" ]; then
    skip "needs tests/helpers/fsprobe (busybox has no setfattr, mmap or flock tool)"
  fi
  FSPROBE=(-v "$probe:/fsprobe:ro")
}

@test "fusefs: the root is sbx's FUSE overlay and its server ends with the container" {
  local tag="fusefs-lifetime-$BATS_TEST_NUMBER-$$"
  run fuse_run "$IMAGE" sh -c 'grep " / " /proc/mounts' "$tag"
  assert_success
  assert_output --partial "fuse.sbx-overlay"
  wait_for 10 no_pids "$tag"
}

@test "fusefs: create, read, write, append and truncate files" {
  run fuse_run "$IMAGE" sh -c '
    echo one >/f && echo two >>/f && cat /f &&
    printf 0123456789 >/g && dd if=/dev/zero of=/g bs=1 seek=2 count=3 conv=notrunc 2>/dev/null &&
    od -An -c /g | tr -s " " &&
    : >/f && wc -c </f &&
    mkdir -p /a/b/c && echo deep >/a/b/c/d && cat /a/b/c/d'
  assert_success
  assert_line --index 0 "one"
  assert_line --index 1 "two"
  assert_line --index 2 " 0 1 \\0 \\0 \\0 5 6 7 8 9"
  assert_line --index 3 "0"
  assert_line --index 4 "deep"
}

@test "fusefs: changing a lower file copies it up and leaves the layer alone" {
  run sbx run --name c --network=none --storage-driver=fuse "$IMAGE" \
    sh -c 'echo appended >>/etc/passwd && tail -n1 /etc/passwd'
  assert_success
  assert_output "appended"
  run tail -n1 "$(upper_dir)/etc/passwd"
  assert_output "appended"
  run grep -c appended "$(layer_dir)/etc/passwd"
  assert_output "0"
}

@test "fusefs: a deleted lower file is a 0/0 whiteout and stays deleted" {
  run sbx run --name c --network=none --storage-driver=fuse "$IMAGE" \
    sh -c 'if [ -e /etc/group ]; then rm /etc/group && echo removed; else echo gone; fi; ls /etc'
  assert_success
  assert_line --index 0 "removed"
  refute_line "group"
  run stat -c '%F %t:%T' "$(upper_dir)/etc/group"
  assert_output "character special file 0:0"
  assert [ -e "$(layer_dir)/etc/group" ]
  run sbx start -a c
  assert_success
  assert_line --index 0 "gone"
}

@test "fusefs: a directory made again over a deleted one is opaque" {
  run sbx run --name c --network=none --storage-driver=fuse "$IMAGE" \
    sh -c '[ -e /home/alice ] && rm -rf /home && mkdir /home; ls -A /home | wc -l'
  assert_success
  assert_output "0"
  run sbx start -a c
  assert_success
  assert_output "0"
}

@test "fusefs: merged directories list each name once" {
  make_layered
  run fuse_run "$LAYERED" sh -c 'echo c >/data/c && rm /data/sub/f && ls -A /data && ls -A /data/sub | wc -l'
  assert_success
  assert_output "a
b
c
sub
0"
}

@test "fusefs: renaming a lower directory keeps its contents" {
  make_layered
  run fuse_run "$LAYERED" sh -c 'mv /data /moved && ls /moved /moved/sub && cat /moved/sub/f && ls -d /data'
  assert_failure 1
  assert_output --partial "/moved/sub:
f
f"
  assert_output --partial "No such file or directory"
}

@test "fusefs: removing a lower directory, and making it again" {
  make_layered
  run fuse_run "$LAYERED" sh -c 'rm -r /data/sub && ls /data && mkdir /data/sub && ls -A /data/sub | wc -l'
  assert_success
  assert_output "a
b
0"
}

@test "fusefs: a lower hardlink pair stays one inode after copy-up" {
  make_layered
  run fuse_run "$LAYERED" sh -c '
    stat -c "%i %h" /data/a /data/b | uniq | wc -l &&
    echo more >>/data/a &&
    stat -c "%i %h" /data/a /data/b | uniq && cat /data/b'
  assert_success
  assert_line --index 0 "1"
  assert_line --index 1 --regexp "^[0-9]+ 2$"
  assert_line --index 2 "a"
  assert_line --index 3 "more"
}

@test "fusefs: a hardlink to a lower file" {
  run fuse_run "$IMAGE" sh -c 'ln /etc/passwd /p && stat -c "%i %h" /etc/passwd /p | uniq'
  assert_success
  assert_output --regexp "^[0-9]+ 2$"
}

@test "fusefs: inode numbers stay the same across copy-up" {
  # shellcheck disable=SC2016 # expanded by the container's sh
  run fuse_run "$IMAGE" sh -c '
    a=$(stat -c %i /etc/passwd); d=$(stat -c %i /etc)
    echo x >>/etc/passwd; touch /etc/new
    [ "$a" = "$(stat -c %i /etc/passwd)" ] && [ "$d" = "$(stat -c %i /etc)" ] && echo same'
  assert_success
  assert_output "same"
}

@test "fusefs: an unlinked open file stays readable" {
  run fuse_run "$IMAGE" sh -c 'exec 3</etc/passwd; rm /etc/passwd; [ ! -e /etc/passwd ] && head -n1 <&3'
  assert_success
  assert_output "root:x:0:0:root:/root:/bin/sh"
}

@test "fusefs: chmod and touch -d of lower files" {
  run fuse_run "$IMAGE" sh -c '
    chmod 600 /etc/passwd && stat -c %a /etc/passwd &&
    touch -d "2001-02-03 04:05:06" /etc/group && stat -c %Y /etc/group &&
    chmod 700 /home/alice && stat -c %a /home/alice'
  assert_success
  assert_line --index 0 "600"
  assert_line --index 1 "$(TZ=UTC date -d '2001-02-03 04:05:06' +%s)"
  assert_line --index 2 "700"
}

@test "fusefs: chown of a lower file (subuid mode)" {
  require_mode subuid
  run fuse_run "$IMAGE" sh -c 'chown 1000:1001 /etc/passwd && stat -c %u:%g /etc/passwd &&
    su alice -c "echo mine >/tmp/a" && stat -c %u:%g /tmp/a'
  assert_success
  assert_output "1000:1001
1000:1000"
}

@test "fusefs: symlinks" {
  run fuse_run "$IMAGE" sh -c 'ln -s /etc/passwd /l && readlink /l && head -n1 /l &&
    ln -sfn /etc/group /l && readlink /l && readlink /bin/sh'
  assert_success
  assert_output "/etc/passwd
root:x:0:0:root:/root:/bin/sh
/etc/group
busybox"
}

@test "fusefs: fifos" {
  run fuse_run "$IMAGE" sh -c 'mkfifo /p && [ -p /p ] && { echo through >/p & } && cat /p'
  assert_success
  assert_output "through"
}

@test "fusefs: statfs" {
  run fuse_run "$IMAGE" sh -c 'df / | tail -n1; stat -f -c "%b %S" /'
  assert_success
  assert_line --index 0 --partial "sbx-overlay"
  assert_line --index 1 --regexp "^[1-9][0-9]* [1-9][0-9]*$"
}

@test "fusefs: untar many files into the writable layer" {
  # shellcheck disable=SC2016 # expanded by the container's sh
  run fuse_run "$IMAGE" sh -c 'tar -C / -cf /tmp/bin.tar bin && mkdir /u && tar -C /u -xf /tmp/bin.tar &&
    [ "$(ls /u/bin | wc -l)" = "$(ls /bin | wc -l)" ] && rm -r /u && echo ok'
  assert_success
  assert_output "ok"
}

@test "fusefs: user xattrs (fsprobe)" {
  fsprobe_args
  run fuse_run "${FSPROBE[@]}" "$IMAGE" sh -c '
    /fsprobe xattr-set /etc/passwd user.test v1 && /fsprobe xattr-get /etc/passwd user.test &&
    /fsprobe xattr-list /etc/passwd && /fsprobe xattr-rm /etc/passwd user.test &&
    /fsprobe xattr-list /etc/passwd | wc -l &&
    ! /fsprobe xattr-set /etc/group user.overlay.opaque y 2>/dev/null && echo refused'
  assert_success
  assert_output "v1
user.test
0
refused"
}

@test "fusefs: mmap writes persist (fsprobe)" {
  fsprobe_args
  run fuse_run "${FSPROBE[@]}" "$IMAGE" sh -c '
    /fsprobe mmap-write /etc/group 0 XY && head -c 6 /etc/group && echo &&
    /fsprobe mmap-read /etc/group 0 4'
  assert_success
  assert_output "XYot:x
XYot"
}

@test "fusefs: flock and fcntl locks (fsprobe)" {
  fsprobe_args
  run fuse_run "${FSPROBE[@]}" "$IMAGE" sh -c '/fsprobe flock /etc/passwd && /fsprobe fcntl-lock /etc/passwd'
  assert_success
  assert_output --partial "other open file: EWOULDBLOCK"
  assert_output --partial "setlk: EAGAIN"
}

@test "fusefs: O_TMPFILE, unnamed and linked in (fsprobe)" {
  fsprobe_args
  # libfuse 3.14 has no tmpfile operation: the server answers FUSE_TMPFILE
  # itself (src/overlay/fusefs/serve.c).
  run fuse_run "${FSPROBE[@]}" "$IMAGE" sh -c '/fsprobe tmpfile /tmp && /fsprobe tmpfile /etc named hello &&
    cat /etc/named && echo && ls -A /tmp | wc -l'
  assert_success
  assert_output "ok
ok
hello
0"
}

@test "fusefs: an upper layer written by the fuse driver commits like the kernel's" {
  run sbx run --name c --network=none --storage-driver=fuse "$IMAGE" \
    sh -c 'rm /etc/group && rm -rf /home && mkdir /home && echo n >/home/new'
  assert_success
  run sbx commit c localhost/fusefs-committed:1
  assert_success
  run sbx run --rm --network=none localhost/fusefs-committed:1 sh -c 'ls /etc; ls -A /home'
  assert_success
  refute_line "group"
  assert_line "new"
  refute_line "alice"
}
