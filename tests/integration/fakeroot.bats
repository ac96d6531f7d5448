#!/usr/bin/env bats
# Root emulation (`sbx run --fakeroot`, runtime/fakeroot.c): in single-uid
# mode a seccomp filter makes chown, set*id, setgroups and device mknod
# succeed without effect, so that dpkg and apt-get work as root; in subuid
# mode the ids are real and no filter is installed.
#
# The single-mode tests force it (SBX_USERNS_MODE=single), so they run in
# both passes of tests/run-all.  The Debian tests use the debootstrap image
# of storage-workloads.bats (SBX_TEST_DEBIAN_TAR, built by tests/run-all as
# root) and skip without it, as that file does.

# Each @test runs in a subshell of its own.
# shellcheck disable=SC2030,SC2031
# The sh -c scripts are expanded in the container.
# shellcheck disable=SC2016

load helpers

IMAGE=localhost/sbx-test/debian:bookworm
DEFAULT_TAR=/var/tmp/sbx-test-cache/debian-minbase.tar

setup_file() {
  sbx_file_setup
  export DEBIAN_TAR=${SBX_TEST_DEBIAN_TAR:-$DEFAULT_TAR}
  [ -r "$DEBIAN_TAR" ] || return 0
  export FR_ROOT="$BATS_FILE_TMPDIR/store" IN="$BATS_FILE_TMPDIR/in"
  mkdir -p "$IN"
  SBX_ROOT="$FR_ROOT" sbx import "$DEBIAN_TAR" "$IMAGE" >/dev/null
  make_deb "$BATS_FILE_TMPDIR/pkg" "$IN/sbx-fr-hello_1.0_all.deb"
  make_repo "$IN"
}

teardown_file() {
  [ -z "${FR_ROOT:-}" ] || SBX_ROOT="$FR_ROOT" sbx rmi "$IMAGE" >/dev/null
}

setup() {
  sbx_test_setup
  require_userns
}

require_debian() {
  if [ ! -r "$DEBIAN_TAR" ]; then
    [ -z "${SBX_TEST_DEBIAN_TAR:-}" ] ||
      fail "tests/run-all did not build $SBX_TEST_DEBIAN_TAR (debootstrap failed? see its log above)"
    skip "no $DEBIAN_TAR: run the suite once as root (tests/run-all builds it with debootstrap)"
  fi
  export SBX_ROOT="$FR_ROOT"
}

# A package whose postinst does what maintainer scripts do as root: hand a
# directory to a system user and make a device node.  make_deb DIR DEB
make_deb() {
  local pkg=$1
  mkdir -p "$pkg/DEBIAN" "$pkg/usr/bin"
  cat >"$pkg/DEBIAN/control" <<'EOF'
Package: sbx-fr-hello
Version: 1.0
Architecture: all
Maintainer: sbx tests <tests@sbx.invalid>
Description: a package for the sbx root-emulation tests
 Its postinst chowns a directory to daemon and makes a device node.
EOF
  cat >"$pkg/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
mkdir -p /var/lib/sbx-fr-hello
chown daemon:daemon /var/lib/sbx-fr-hello
mknod /var/lib/sbx-fr-hello/null c 1 3
echo configured >/var/lib/sbx-fr-hello/postinst-ran
EOF
  printf '#!/bin/sh\necho "hello from sbx-fr-hello"\n' >"$pkg/usr/bin/sbx-fr-hello"
  chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/usr/bin/sbx-fr-hello"
  dpkg-deb --root-owner-group --build "$pkg" "$2" >/dev/null
}

# A flat apt repository of the .debs in DIR (what dpkg-scanpackages writes).
make_repo() {
  local dir=$1 deb
  : >"$dir/Packages"
  for deb in "$dir"/*.deb; do
    {
      dpkg-deb -f "$deb"
      echo "Filename: ./$(basename "$deb")"
      echo "Size: $(stat -c %s "$deb")"
      echo "SHA256: $(sha256sum "$deb" | cut -d' ' -f1)"
      echo
    } >>"$dir/Packages"
  done
}

@test "fakeroot: chown succeeds without effect under --fakeroot, fails without (single mode)" {
  export SBX_USERNS_MODE=single
  run sbx run --rm --network none --rootfs "$ROOTFS" sh -c 'touch /tmp/f && chown 1:1 /tmp/f'
  assert_failure
  run sbx run --rm --network none --fakeroot --rootfs "$ROOTFS" \
    sh -c 'touch /tmp/f && chown 1:1 /tmp/f && chown -h 2:2 /tmp/f && stat -c %u:%g /tmp/f'
  assert_success
  assert_output "0:0"
}

@test "fakeroot: device mknod is faked, fifos are made (single mode)" {
  export SBX_USERNS_MODE=single
  run sbx run --rm --network none --rootfs "$ROOTFS" mknod /tmp/c c 1 3
  assert_failure
  run sbx run --rm --network none --fakeroot --rootfs "$ROOTFS" sh -c '
    mknod /tmp/c c 1 3 && echo "mknod c: $?"
    mknod /tmp/b b 7 0 && echo "mknod b: $?"
    [ -e /tmp/c ] || [ -e /tmp/b ] || echo "no device made"
    mkfifo /tmp/p && [ -p /tmp/p ] && echo "mkfifo: a fifo"
    mknod /tmp/q p && [ -p /tmp/q ] && echo "mknod p: a fifo"'
  assert_success
  assert_output "$(printf '%s\n' 'mknod c: 0' 'mknod b: 0' 'no device made' 'mkfifo: a fifo' 'mknod p: a fifo')"
}

@test "fakeroot: set*id and setgroups succeed without effect (single mode)" {
  export SBX_USERNS_MODE=single
  run sbx run --rm --network none --rootfs "$ROOTFS" su alice -c id
  assert_failure
  run sbx run --rm --network none --fakeroot --rootfs "$ROOTFS" su alice -c 'id -u; id -G'
  assert_success
  assert_output "$(printf '0\n0')"
}

@test "fakeroot: the filter is installed in single mode only" {
  SBX_USERNS_MODE=single run sbx run --rm --network none --fakeroot --rootfs "$ROOTFS" \
    grep '^Seccomp:' /proc/self/status
  assert_success
  assert_output --regexp '^Seccomp:[[:space:]]+2$'
  run sbx run --rm --network none --rootfs "$ROOTFS" grep '^Seccomp:' /proc/self/status
  assert_output --regexp '^Seccomp:[[:space:]]+0$'
}

@test "fakeroot: subuid mode has real ids and no filter" {
  require_mode subuid
  run sbx run --rm --network none --fakeroot --rootfs "$ROOTFS" \
    sh -c 'grep "^Seccomp:" /proc/self/status; touch /tmp/f && chown 1:1 /tmp/f && stat -c %u:%g /tmp/f'
  assert_success
  assert_line --regexp '^Seccomp:[[:space:]]+0$'
  assert_line "1:1"
}

@test "fakeroot: dpkg -i of a package whose postinst chowns and makes a device (single mode)" {
  require_debian
  export SBX_USERNS_MODE=single
  run sbx run --rm --network none -v "$IN:/in:ro" "$IMAGE" dpkg -i /in/sbx-fr-hello_1.0_all.deb
  assert_failure
  run sbx run --rm --network none --fakeroot -v "$IN:/in:ro" "$IMAGE" sh -c '
    dpkg -i /in/sbx-fr-hello_1.0_all.deb >/dev/null
    dpkg-query -W -f="\${Status}\n" sbx-fr-hello
    sbx-fr-hello
    cat /var/lib/sbx-fr-hello/postinst-ran'
  assert_success
  assert_output "$(printf '%s\n' 'install ok installed' 'hello from sbx-fr-hello' 'configured')"
}

@test "fakeroot: apt-get install -y from a local repository (single mode)" {
  require_debian
  export SBX_USERNS_MODE=single
  run sbx run --rm --network none --fakeroot -v "$IN:/in:ro" "$IMAGE" sh -c '
    echo "deb [trusted=yes] file:/in ./" >/etc/apt/sources.list
    apt-get update -q >/dev/null 2>&1
    apt-get install -y -q sbx-fr-hello >/dev/null 2>&1
    dpkg-query -W -f="\${Status}\n" sbx-fr-hello
    sbx-fr-hello'
  assert_success
  assert_output "$(printf '%s\n' 'install ok installed' 'hello from sbx-fr-hello')"
}

@test "fakeroot: apt-get update && apt-get install -y from the image's mirror (single mode, network)" {
  require_debian
  require_tun
  # The image's mirror as the host reaches it (slirp reaches what the host does).
  if ! curl -sf -m 10 -o /dev/null http://deb.debian.org/debian/dists/bookworm/InRelease; then
    skip "deb.debian.org is not reachable from this host"
  fi
  export SBX_USERNS_MODE=single
  run sbx run --rm --fakeroot "$IMAGE" sh -c '
    apt-get update -q >/dev/null && apt-get install -y -q sl >/dev/null 2>&1
    dpkg-query -W -f="\${Status}\n" sl && test -x /usr/games/sl && echo sl-runs'
  assert_success
  assert_output "$(printf '%s\n' 'install ok installed' 'sl-runs')"
}

@test "fakeroot: a kept container keeps --fakeroot" {
  require_debian
  export SBX_USERNS_MODE=single
  run sbx run --name fr-kept --network none --fakeroot "$IMAGE" grep '^Seccomp:' /proc/self/status
  assert_output --regexp '^Seccomp:[[:space:]]+2$'
  run sbx start -a fr-kept
  assert_output --regexp '^Seccomp:[[:space:]]+2$'
  sbx rm fr-kept
}
