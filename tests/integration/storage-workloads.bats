#!/usr/bin/env bats
# Real workloads on each storage driver, in a Debian image made by
# debootstrap (--variant=minbase --include=python3,git,ca-certificates
# bookworm): dpkg -i, -r and -P of a .deb built here, python3 -m compileall
# of the standard library, untar of the image's own tarball (271 MB, 12k
# entries) and git init/add/commit of the tree.  Each driver's results are
# checked against what they must be (the host's reading of the same tarball
# included), and the drivers' results must be identical.
#
# debootstrap needs root: tests/run-all, as root, builds the image's tarball
# once in /var/tmp/sbx-test-cache/debian-minbase.tar and passes its path in
# SBX_TEST_DEBIAN_TAR (then a missing tarball fails the tests).  Run
# otherwise (make check as a developer), the tests use that path when the
# file is there and skip when it is not.

# Each @test runs in a subshell of its own.
# shellcheck disable=SC2030,SC2031

load helpers

# The workloads take 20-60 s per driver on an idle machine.
if [ -n "${BATS_TEST_TIMEOUT:-}" ] && [ "$BATS_TEST_TIMEOUT" -lt 600 ]; then
  BATS_TEST_TIMEOUT=600
fi

IMAGE=localhost/sbx-test/debian:bookworm
DEFAULT_TAR=/var/tmp/sbx-test-cache/debian-minbase.tar
PATH_IN_IMAGE=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

setup_file() {
  export DEBIAN_TAR=${SBX_TEST_DEBIAN_TAR:-$DEFAULT_TAR}
  [ -r "$DEBIAN_TAR" ] || return 0
  export WL_ROOT="$BATS_FILE_TMPDIR/store" IN="$BATS_FILE_TMPDIR/in" RESULTS="$BATS_FILE_TMPDIR/results"
  mkdir -p "$IN" "$RESULTS"
  SBX_ROOT="$WL_ROOT" sbx import "$DEBIAN_TAR" "$IMAGE" >/dev/null
  make_deb "$BATS_FILE_TMPDIR/pkg" "$IN/sbx-test-hello_1.0_all.deb"
  write_workload "$IN/workload.sh"
  host_reference "$BATS_FILE_TMPDIR/ref" >"$RESULTS/host"
}

teardown_file() {
  # The reference tree has read-only directories (proc, sys, ...); the
  # image's layer may hold files of other container ids, which only sbx can
  # remove.
  [ ! -d "$BATS_FILE_TMPDIR/ref" ] || chmod -R u+rwX "$BATS_FILE_TMPDIR/ref"
  [ -z "${WL_ROOT:-}" ] || SBX_ROOT="$WL_ROOT" sbx rmi "$IMAGE" >/dev/null
}

setup() {
  require_userns
  if [ ! -r "$DEBIAN_TAR" ]; then
    [ -z "${SBX_TEST_DEBIAN_TAR:-}" ] ||
      fail "tests/run-all did not build $SBX_TEST_DEBIAN_TAR (debootstrap failed? see its log above)"
    skip "no $DEBIAN_TAR: run the suite once as root (tests/run-all builds it with debootstrap)"
  fi
  sbx_test_setup
  export SBX_ROOT="$WL_ROOT"
}

# A package with a script, a conffile, a document, md5sums, a postinst that
# leaves a mark and a postrm that removes it: make_deb DIR DEB
make_deb() {
  local pkg=$1
  mkdir -p "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/etc" "$pkg/usr/share/doc/sbx-test-hello"
  cat >"$pkg/DEBIAN/control" <<'EOF'
Package: sbx-test-hello
Version: 1.0
Architecture: all
Maintainer: sbx tests <tests@sbx.invalid>
Description: a package for the sbx storage workload tests
 A script, a conffile and a document; the postinst leaves a mark.
EOF
  printf '#!/bin/sh\nset -e\nmkdir -p /var/lib/sbx-test-hello\necho configured >/var/lib/sbx-test-hello/postinst-ran\n' \
    >"$pkg/DEBIAN/postinst"
  printf '#!/bin/sh\nset -e\nrm -rf /var/lib/sbx-test-hello\n' >"$pkg/DEBIAN/postrm"
  echo /etc/sbx-test-hello.conf >"$pkg/DEBIAN/conffiles"
  printf '#!/bin/sh\necho "hello from sbx-test-hello"\n' >"$pkg/usr/bin/sbx-test-hello"
  echo greeting=hello >"$pkg/etc/sbx-test-hello.conf"
  echo "public domain" >"$pkg/usr/share/doc/sbx-test-hello/copyright"
  chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/postrm" "$pkg/usr/bin/sbx-test-hello"
  (cd "$pkg" && find usr -type f -exec md5sum {} + >DEBIAN/md5sums)
  dpkg-deb --root-owner-group --build "$pkg" "$2" >/dev/null
}

# The workload, run by bash in the image with /in (the .deb and workload.sh)
# and /tree.tar read-only, /out writable.  It writes one "what: result" a line
# into /out/results, and its progress to stdout.
write_workload() {
  cat >"$1" <<'EOF'
set -euo pipefail
out=/out/results
: >"$out"
r() { echo "$*" >>"$out"; }

dpkg -i /in/sbx-test-hello_1.0_all.deb
r "dpkg installed: $(dpkg-query -W -f='${Status} ${Version}' sbx-test-hello)"
r "dpkg run: $(sbx-test-hello)"
r "dpkg postinst: $(cat /var/lib/sbx-test-hello/postinst-ran)"
dpkg --verify sbx-test-hello && r "dpkg verify: ok"
r "dpkg files: $(dpkg -L sbx-test-hello | LC_ALL=C sort | tr '\n' ' ')"
dpkg -r sbx-test-hello
r "dpkg removed: $(dpkg-query -W -f='${Status}' sbx-test-hello) $([ -e /usr/bin/sbx-test-hello ] || echo script-gone) $([ ! -e /etc/sbx-test-hello.conf ] || echo conffile-kept)"
dpkg -P sbx-test-hello
r "dpkg purged: $(grep -c '^Package: sbx-test-hello$' /var/lib/dpkg/status || true) $([ -e /etc/sbx-test-hello.conf ] || echo conffile-gone)"
dpkg -i /in/sbx-test-hello_1.0_all.deb
r "dpkg reinstalled: $(dpkg-query -W -f='${Status}' sbx-test-hello)"

python3 -m compileall -q /usr/lib/python3*
python3 -m compileall -q -f /usr/lib/python3*
r "py files: $(find /usr/lib/python3* -name '*.py' | wc -l)"
r "pyc files: $(find /usr/lib/python3* -name '*.pyc' | wc -l)"
r "pyc md5: $(find /usr/lib/python3* -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 md5sum | md5sum | cut -d' ' -f1)"
r "python3: $(python3 -c 'import json, email.parser, http.client, argparse, decimal; print(json.dumps([1]))')"

mkdir /root/tree
tar -C /root/tree --no-same-owner -xf /tree.tar
cd /root/tree
r "tree entries: $(find . -mindepth 1 | wc -l)"
r "tree listing: $(find . -mindepth 1 \( -type d -printf '%y %m %p\n' \) -o -printf '%y %m %s %p %l\n' | LC_ALL=C sort | md5sum | cut -d' ' -f1)"
r "tree content: $(find . -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum | md5sum | cut -d' ' -f1)"

git init -q
git add -A
git -c user.name=sbx -c user.email=sbx@sbx.invalid commit -qm tree
r "git tree: $(git rev-parse 'HEAD^{tree}')"
r "git files: $(git ls-files | wc -l)"
git fsck --no-progress && r "git fsck: ok"
r "git status: $(git status --porcelain | wc -l) changes"
EOF
}

# What the host makes of the tarball: entries, content and (with git) the
# git tree, in the workload's result format.  host_reference DIR
host_reference() {
  local ref=$1
  mkdir -p "$ref"
  tar -C "$ref" --no-same-owner -xf "$DEBIAN_TAR"
  (
    cd "$ref" || exit 1
    echo "tree entries: $(find . -mindepth 1 | wc -l)"
    echo "tree content: $(find . -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum | md5sum | cut -d' ' -f1)"
    if command -v git >/dev/null; then
      git init -q
      git add -A
      echo "git tree: $(git write-tree)"
      echo "git files: $(git ls-files | wc -l)"
    fi
  )
}

# run_workload DRIVER: the workload in a new container, results in
# $RESULTS/DRIVER; then the checks that hold for any driver.
run_workload() {
  local driver=$1 out="$BATS_TEST_TMPDIR/out"
  mkdir -p "$out"
  run sbx run --rm --storage-driver="$driver" -e PATH="$PATH_IN_IMAGE" -v "$IN:/in:ro" \
    -v "$DEBIAN_TAR:/tree.tar:ro" -v "$out:/out" "$IMAGE" bash /in/workload.sh
  [ "$status" -eq 0 ] || fail "the workload failed (exit $status): $output
results so far: $(cat "$out/results" 2>/dev/null)"
  cp "$out/results" "$RESULTS/$driver"
  run cat "$RESULTS/$driver"
  assert_line "dpkg installed: install ok installed 1.0"
  assert_line "dpkg run: hello from sbx-test-hello"
  assert_line "dpkg postinst: configured"
  assert_line "dpkg verify: ok"
  assert_line "dpkg files: /. /etc /etc/sbx-test-hello.conf /usr /usr/bin /usr/bin/sbx-test-hello /usr/share /usr/share/doc /usr/share/doc/sbx-test-hello /usr/share/doc/sbx-test-hello/copyright "
  assert_line "dpkg removed: deinstall ok config-files script-gone conffile-kept"
  assert_line "dpkg purged: 0 conffile-gone"
  assert_line "dpkg reinstalled: install ok installed"
  assert_line "python3: [1]"
  assert_line "git fsck: ok"
  assert_line "git status: 0 changes"
  # Every module compiled; the tree is the tarball's.
  local py pyc line
  py=$(sed -n 's/^py files: //p' "$RESULTS/$driver")
  pyc=$(sed -n 's/^pyc files: //p' "$RESULTS/$driver")
  if [ -z "$py" ] || [ "$py" -lt 100 ] || [ "$pyc" != "$py" ]; then
    fail "$pyc .pyc files for $py .py files"
  fi
  while IFS= read -r line; do
    assert_line "$line"
  done <"$RESULTS/host"
  # Nothing is left of the container.
  run sbx ps -a -q
  assert_output ""
}

@test "storage-workloads: dpkg, compileall, untar and git commit on the overlay driver" {
  run_workload overlay
}

@test "storage-workloads: dpkg, compileall, untar and git commit on the fuse driver" {
  run_workload fuse
}

@test "storage-workloads: the results are identical on both drivers" {
  [ -s "$RESULTS/overlay" ] || fail "no results of the overlay driver (its test failed?)"
  [ -s "$RESULTS/fuse" ] || fail "no results of the fuse driver (its test failed?)"
  run diff -u "$RESULTS/overlay" "$RESULTS/fuse"
  assert_success
}
