#!/usr/bin/env bats
# sbx build: Dockerfiles over a busybox image made with sbx import.

load helpers

setup_file() { sbx_file_setup; }
setup() {
  sbx_test_setup
  require_userns
  tar -C "$ROOTFS" --owner=0 --group=0 --numeric-owner -czf "$BATS_TEST_TMPDIR/rootfs.tgz" .
  run sbx import "$BATS_TEST_TMPDIR/rootfs.tgz" localhost/bb
  assert_success
  CTX="$BATS_TEST_TMPDIR/ctx"
  mkdir -p "$CTX"
}

@test "build: RUN makes a file that sbx run of the result sees" {
  printf 'FROM localhost/bb\nRUN echo built >/made\n' >"$CTX/Dockerfile"
  run sbx build -t localhost/b1 "$CTX"
  assert_success
  assert_output --partial "STEP 2/2: RUN echo built >/made"
  assert_line --regexp '^sha256:[0-9a-f]{64}$'
  run sbx run --rm localhost/b1 cat /made
  assert_success
  assert_output "built"
}

@test "build: RUN's writable layer is volatile (fsync need not reach the disk), as buildah's" {
  printf '%s\n' 'FROM localhost/bb' \
    'RUN sed -n "s/^[0-9]* [0-9]* [^ ]* [^ ]* \/ .* - \([^ ]*\) [^ ]* \(.*\)/\1 \2/p" /proc/self/mountinfo >/opts' \
    >"$CTX/Dockerfile"
  run sbx build -t localhost/b-vol "$CTX"
  assert_success
  run sbx run --rm localhost/b-vol cat /opts
  assert_success
  case $output in
    overlay*) assert_output --regexp '(,volatile|fsync=volatile)' ;;
    fuse*)
      # The fuse driver's volatile shows in no mount option: its server says so.
      run sbx --log-level debug build --no-cache -t localhost/b-vol "$CTX"
      assert_success
      assert_output --regexp 'FUSE overlay server .* \(volatile: fsync answered at once\)'
      ;;
    *) fail "unexpected root file system: $output" ;;
  esac
}

@test "build: ENV, WORKDIR and CMD land in the image config" {
  cat >"$CTX/Dockerfile" <<'DF'
FROM localhost/bb
ENV GREETING=hello
WORKDIR /app
CMD ["sh", "-c", "echo $GREETING from $(pwd)"]
DF
  run sbx build -t localhost/b2 "$CTX"
  assert_success
  run sbx inspect localhost/b2
  assert_success
  assert_output --partial '"GREETING=hello"'
  assert_output --partial '"WorkingDir": "/app"'
  run sbx run --rm localhost/b2
  assert_success
  assert_output "hello from /app"
}

@test "build: COPY honours .dockerignore" {
  mkdir -p "$CTX/dir"
  echo one >"$CTX/one.txt"
  echo secret >"$CTX/secret.txt"
  echo deep >"$CTX/dir/deep.txt"
  printf 'secret.txt\n' >"$CTX/.dockerignore"
  printf 'FROM localhost/bb\nCOPY . /src/\nCOPY one.txt /one\n' >"$CTX/Dockerfile"
  run sbx build -t localhost/b3 "$CTX"
  assert_success
  run sbx run --rm localhost/b3 sh -c 'cat /one /src/one.txt /src/dir/deep.txt; ls /src'
  assert_success
  assert_output --partial "one
one
deep"
  refute_output --partial "secret"
}

@test "build: COPY resolves symlinks inside the context, never outside it" {
  mkdir -p "$BATS_TEST_TMPDIR/outside" "$CTX/in"
  echo host-secret >"$BATS_TEST_TMPDIR/outside/secret.txt"
  echo inside >"$CTX/in/file.txt"
  # A directory link pointing out of the context, and an absolute one
  # that, resolved in the context, names the context's own in/.
  ln -s "$BATS_TEST_TMPDIR/outside" "$CTX/escape"
  ln -s /in "$CTX/abs"
  printf 'FROM localhost/bb\nCOPY escape/secret.txt /got\n' >"$CTX/Dockerfile"
  run sbx build -t localhost/b-esc "$CTX"
  assert_failure
  assert_output --partial "Dockerfile:2: COPY"
  printf 'FROM localhost/bb\nCOPY abs/file.txt /got\n' >"$CTX/Dockerfile"
  run sbx build -t localhost/b-abs "$CTX"
  assert_success
  run sbx run --rm localhost/b-abs cat /got
  assert_success
  assert_output "inside"
}

@test "build: a rebuild with nothing changed is CACHED and runs no RUN" {
  echo data >"$CTX/data"
  printf 'FROM localhost/bb\nENV A=1\nRUN echo RAN-DONE | tr A-Z a-z\nCOPY data /data\nCMD ["true"]\n' \
    >"$CTX/Dockerfile"
  run sbx build -t localhost/b4 "$CTX"
  assert_success
  assert_output --partial "ran-done"
  first=${lines[-1]}
  run sbx build -t localhost/b4 "$CTX"
  assert_success
  refute_output --partial "ran-done"
  [ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 4 ]
  assert_equal "${lines[-1]}" "$first"
  # A changed input misses from that step on.
  echo changed >"$CTX/data"
  run sbx build -t localhost/b4 "$CTX"
  assert_success
  [ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 2 ]
  run sbx build --no-cache -t localhost/b4 "$CTX"
  assert_success
  assert_output --partial "ran-done"
  refute_output --partial "CACHED"
}

@test "build: errors name Dockerfile:LINE and exit non-zero" {
  printf 'FROM localhost/bb\n\nFETCH something\n' >"$CTX/Dockerfile"
  run sbx build "$CTX"
  assert_failure
  assert_output --partial "Dockerfile:3:"
  printf 'FROM localhost/bb\nRUN exit 3\n' >"$CTX/Dockerfile"
  run sbx build "$CTX"
  assert_failure
  assert_output --partial "Dockerfile:2: RUN"
  printf 'FROM localhost/bb\nCOPY missing /x\n' >"$CTX/Dockerfile"
  run sbx build "$CTX"
  assert_failure
  assert_output --partial "Dockerfile:2: COPY"
}

@test "build: -f - reads the Dockerfile from stdin; Containerfile is the fallback" {
  run bash -c 'printf "FROM localhost/bb\nLABEL a=b\n" | "$SBX" build -t localhost/b6 -f - "$0"' "$CTX"
  assert_success
  printf 'FROM localhost/bb\nLABEL c=d\n' >"$CTX/Containerfile"
  run sbx build -t localhost/b7 "$CTX"
  assert_success
  run sbx inspect localhost/b7
  assert_output --partial '"c": "d"'
}

# ---- the matrix of small Dockerfiles -----------------------------------------

@test "build: COPY --from a stage and --target builds only what the target needs" {
  cat >"$CTX/Dockerfile" <<'DF'
FROM localhost/bb AS unused
RUN echo UNUSED-STAGE-RAN >/u

FROM localhost/bb AS builder
RUN mkdir -p /out/sub && echo artifact >/out/sub/a.txt && echo BUILDER-RAN

FROM localhost/bb AS final
COPY --from=builder /out/ /app/
RUN cat /app/sub/a.txt

FROM final AS later
RUN echo LATER-RAN
DF
  run sbx build -t localhost/ms --target final "$CTX"
  assert_success
  assert_output --partial "BUILDER-RAN"
  refute_output --partial "UNUSED-STAGE-RAN"
  refute_output --partial "LATER-RAN"
  run sbx run --rm localhost/ms cat /app/sub/a.txt
  assert_success
  assert_output "artifact"
  # The last stage by default: it needs final and builder, never unused.
  run sbx build -t localhost/ms2 "$CTX"
  assert_success
  assert_output --partial "LATER-RAN"
  refute_output --partial "UNUSED-STAGE-RAN"
}

@test "build: COPY --from an image of the store" {
  printf 'FROM scratch\nCOPY --from=localhost/bb /bin/busybox /bin/busybox\nCOPY --from=localhost/bb /etc/passwd /etc/\n' \
    >"$CTX/Dockerfile"
  run sbx build -t localhost/fromimg "$CTX"
  assert_success
  run sbx run --rm localhost/fromimg /bin/busybox cat /etc/passwd
  assert_success
  assert_output --partial "alice:x:1000"
  # A stage or image that has no such path fails with the line.
  printf 'FROM localhost/bb\nCOPY --from=localhost/bb /nope /x\n' >"$CTX/Dockerfile"
  run sbx build "$CTX"
  assert_failure
  assert_output --partial "Dockerfile:2: COPY"
}

@test "build: .dockerignore with ! exceptions" {
  mkdir -p "$CTX/logs" "$CTX/src"
  echo a >"$CTX/logs/a.log"
  echo keep >"$CTX/logs/keep.log"
  echo code >"$CTX/src/main.c"
  echo tmp >"$CTX/src/x.tmp"
  printf 'logs/*.log\n!logs/keep.log\n**/*.tmp\n' >"$CTX/.dockerignore"
  printf 'FROM localhost/bb\nCOPY . /ctx/\n' >"$CTX/Dockerfile"
  run sbx build -t localhost/ign "$CTX"
  assert_success
  run sbx run --rm localhost/ign sh -c 'cd /ctx && find . -type f | sort'
  assert_success
  assert_output "./.dockerignore
./Dockerfile
./logs/keep.log
./src/main.c"
}

@test "build: USER, WORKDIR and COPY --chown=name:group" {
  echo hi >"$CTX/f.txt"
  cat >"$CTX/Dockerfile" <<'DF'
FROM localhost/bb
WORKDIR /home/alice/work
COPY --chown=alice:staff f.txt ./owned.txt
COPY --chown=bob f.txt /bob.txt
COPY --chown=1001:50 f.txt /num.txt
USER alice
RUN echo "$(pwd)" >/tmp/where
DF
  run sbx build -t localhost/own "$CTX"
  assert_success
  if [ "$(sbx_mode)" = single ]; then
    assert_output --partial "note: single-uid mode (no /etc/subuid range): RUN steps run as root"
  else
    refute_output --partial "note: single-uid mode"
  fi
  run sbx inspect localhost/own
  assert_output --partial '"User": "alice"'
  assert_output --partial '"WorkingDir": "/home/alice/work"'
  # -u 0: single-uid mode cannot run as alice (only 0 is mapped).
  run sbx run --rm -u 0 localhost/own sh -c 'cat /tmp/where; stat -c "%u:%g" owned.txt /bob.txt /num.txt'
  assert_success
  if [ "$(sbx_mode)" = subuid ]; then
    assert_output "/home/alice/work
1000:50
1001:1001
1001:50"
  else
    # Single-uid mode maps only 0: the files stay the user's (root inside),
    # and RUN runs as root.
    assert_output "/home/alice/work
0:0
0:0
0:0"
  fi
  printf 'FROM localhost/bb\nCOPY --chown=nosuchuser f.txt /x\n' >"$CTX/Dockerfile"
  run sbx build "$CTX"
  assert_failure
  assert_output --partial "Dockerfile:2: COPY"
  assert_output --partial "nosuchuser"
}

@test "build: heredoc RUN, plain and a #!/bin/sh script" {
  cat >"$CTX/Dockerfile" <<'DF'
FROM localhost/bb
RUN <<EOF
echo plain-one >/one
echo plain-two >>/one
EOF
RUN <<EOF
#!/bin/sh
set -e
echo "script as $0" >/two
EOF
DF
  run sbx build -t localhost/hd "$CTX"
  assert_success
  run sbx run --rm localhost/hd sh -c 'cat /one /two; ls -a /'
  assert_success
  assert_line "plain-one"
  assert_line "plain-two"
  assert_line "script as /.sbx-heredoc/script"
  # The script's layer was there for that RUN only.
  refute_line ".sbx-heredoc"
}

@test "build: ARG scoping with --build-arg" {
  cat >"$CTX/Dockerfile" <<'DF'
ARG BASE=localhost/bb
ARG V=meta
FROM $BASE
RUN echo "before:[$V]" >/before
ARG V
ARG W=wdef
RUN echo "after:[$V] w:[$W]" >/after
DF
  run sbx build -t localhost/args --build-arg V=cli "$CTX"
  assert_success
  run sbx run --rm localhost/args cat /before /after
  assert_success
  assert_output "before:[]
after:[cli] w:[wdef]"
  # ARG values are not in the image's environment.
  run sbx inspect localhost/args
  refute_output --partial '"V=cli"'
}

@test "build: a base image's ENV and WORKDIR take part in expansion" {
  printf 'FROM localhost/bb\nENV APPDIR=/srv/app\nWORKDIR /base\n' >"$CTX/Dockerfile"
  run sbx build -t localhost/base-env "$CTX"
  assert_success
  printf 'FROM localhost/base-env\nWORKDIR $APPDIR/sub\nENV WHERE=${APPDIR:-unset}\n' >"$CTX/Dockerfile"
  run sbx build -t localhost/child-env "$CTX"
  assert_success
  run sbx inspect localhost/child-env
  assert_output --partial '"WorkingDir": "/srv/app/sub"'
  assert_output --partial '"WHERE=/srv/app"'
}

@test "build: --network none for RUN steps, slirp by default, a bad mode refused" {
  require_tun
  printf 'FROM localhost/bb\nRUN ls /sys/class/net | tr "\\n" " " >/nets\n' >"$CTX/Dockerfile"
  run sbx build --network none -t localhost/net-none "$CTX"
  assert_success
  run sbx run --rm --network none localhost/net-none cat /nets
  assert_output "lo "
  run sbx build --no-cache -t localhost/net-slirp "$CTX"
  assert_success
  run sbx run --rm --network none localhost/net-slirp cat /nets
  assert_output "lo tap0 "
  run sbx build --network bogus -t localhost/net-bad "$CTX"
  assert_equal "$status" 125
  assert_output --partial "invalid --network"
}

@test "build: ONBUILD is stored in the config" {
  printf 'FROM localhost/bb\nONBUILD RUN echo triggered\nONBUILD COPY . /app\n' >"$CTX/Dockerfile"
  run sbx build -t localhost/onb "$CTX"
  assert_success
  run sbx inspect localhost/onb
  assert_success
  assert_output --partial '"OnBuild"'
  assert_output --partial '"RUN echo triggered"'
  assert_output --partial '"COPY . /app"'
}

@test "build: ADD of a local .tar.gz is unpacked, of another file copied" {
  mkdir -p "$BATS_TEST_TMPDIR/t/pkg/bin"
  echo tool >"$BATS_TEST_TMPDIR/t/pkg/bin/tool"
  tar -C "$BATS_TEST_TMPDIR/t" --owner=0 --group=0 --numeric-owner -czf "$CTX/pkg.tar.gz" pkg
  echo plain >"$CTX/plain.txt"
  printf 'FROM localhost/bb\nADD pkg.tar.gz /opt\nADD plain.txt /opt/\nCOPY pkg.tar.gz /copied/\n' \
    >"$CTX/Dockerfile"
  run sbx build -t localhost/addtar "$CTX"
  assert_success
  run sbx run --rm localhost/addtar sh -c 'cat /opt/pkg/bin/tool /opt/plain.txt; ls /copied'
  assert_success
  assert_output "tool
plain
pkg.tar.gz"
}

@test "build: ADD of a URL from a local http server, with --checksum" {
  local port www="$BATS_TEST_TMPDIR/www" sum
  mkdir -p "$www"
  echo "served content" >"$www/file.txt"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 -m http.server --bind 127.0.0.1 --directory "$www" "$port" >/dev/null 2>&1 &
  local pid=$!
  wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$port/file.txt" || { kill "$pid"; fail "no http server"; }
  sum=$(sha256sum "$www/file.txt" | cut -d' ' -f1)
  printf 'FROM localhost/bb\nADD --checksum=sha256:%s http://127.0.0.1:%s/file.txt /dl/\nADD http://127.0.0.1:%s/file.txt /named.txt\n' \
    "$sum" "$port" "$port" >"$CTX/Dockerfile"
  run sbx build -t localhost/addurl "$CTX"
  if [ "$status" -ne 0 ]; then kill "$pid"; fi
  assert_success
  run sbx run --rm localhost/addurl sh -c 'cat /dl/file.txt /named.txt; stat -c %a /named.txt'
  assert_success
  assert_output "served content
served content
600"
  printf 'FROM localhost/bb\nADD --checksum=sha256:%064d http://127.0.0.1:%s/file.txt /dl/\n' 0 "$port" \
    >"$CTX/Dockerfile"
  run sbx build "$CTX"
  assert_failure
  assert_output --partial "Dockerfile:2: ADD"
  assert_output --partial "checksum mismatch"
  printf 'FROM localhost/bb\nADD http://127.0.0.1:%s/missing.txt /dl/\n' "$port" >"$CTX/Dockerfile"
  run sbx build "$CTX"
  assert_failure
  assert_output --partial "404"
  kill "$pid"
}

@test "build: the same Dockerfile built twice with SOURCE_DATE_EPOCH gives identical digests" {
  echo data >"$CTX/data"
  printf 'FROM localhost/bb\nCOPY data /data\nRUN echo made >/made && touch /now\nENV X=1\n' \
    >"$CTX/Dockerfile"
  export SOURCE_DATE_EPOCH=1700000000
  run sbx build --no-cache -t localhost/repro "$CTX"
  assert_success
  first=${lines[-1]}
  first_layers=$(sbx inspect localhost/repro | grep -o 'sha256:[0-9a-f]\{64\}' | sort -u | tr '\n' ' ')
  touch "$CTX/data" # a newer mtime is clamped too
  run sbx build --no-cache -t localhost/repro "$CTX"
  assert_success
  assert_equal "${lines[-1]}" "$first"
  second_layers=$(sbx inspect localhost/repro | grep -o 'sha256:[0-9a-f]\{64\}' | sort -u | tr '\n' ' ')
  assert_equal "$second_layers" "$first_layers"
  run sbx inspect localhost/repro
  assert_output --partial '2023-11-14T22:13:20Z'
  unset SOURCE_DATE_EPOCH
}

@test "build: a failed RUN exits with its status, keeps FILE:LINE and leaves no tmp/build-*" {
  printf 'FROM localhost/bb\nRUN echo x >/x && exit 3\n' >"$CTX/Dockerfile"
  run sbx build "$CTX"
  assert_equal "$status" 3
  assert_output --partial "Dockerfile:2: RUN: the command returned a non-zero code: 3"
  printf 'FROM localhost/bb\nCOPY --from=localhost/bb /missing /x\n' >"$CTX/Dockerfile"
  run sbx build "$CTX"
  assert_equal "$status" 125
  run find "$SBX_ROOT/tmp" -mindepth 1 -maxdepth 1 -name 'build-*'
  assert_success
  assert_output ""
}

@test "build: a cache entry whose blobs are gone is a miss; prune drops stale entries" {
  printf 'FROM localhost/bb\nRUN echo RAN-ONCE\n' >"$CTX/Dockerfile"
  run sbx build -t localhost/c1 "$CTX"
  assert_success
  assert_output --partial "RAN-ONCE"
  [ "$(find "$SBX_ROOT/build-cache" -type f | wc -l)" -ge 1 ]
  run sbx rmi localhost/c1
  assert_success
  run sbx image prune
  assert_success
  run find "$SBX_ROOT/build-cache" -type f
  assert_output ""
  run sbx build -t localhost/c1 "$CTX"
  assert_success
  assert_output --partial "RAN-ONCE"
  refute_output --partial "CACHED"
}

@test "build: a RUN's upper directory is published as its stored layer, whiteouts included" {
  printf 'FROM localhost/bb\nRUN mkdir /d && echo 1 >/d/f && rm /etc/group\nRUN cat /d/f && test ! -e /etc/group\n' \
    >"$CTX/Dockerfile"
  run sbx build -t localhost/pub "$CTX"
  assert_success
  # The RUN's upper directory became the stored layer: the deletion is a
  # whiteout in the kernel overlay's format (a 0/0 character device).
  run find "$SBX_ROOT/layers" -path '*/etc/group' -type c
  assert_success
  [ -n "$output" ] || fail "no whiteout of /etc/group among the stored layers"
  run sbx run --rm localhost/pub cat /d/f
  assert_success
  assert_output "1"
}

@test "build: an image built by sbx, pushed, pulled by skopeo and unpacked by umoci" {
  require_registry_tools
  local regdir="$BATS_TEST_TMPDIR/registry" reg t="$BATS_TEST_TMPDIR"
  echo payload >"$CTX/payload.txt"
  cat >"$CTX/Dockerfile" <<'DF'
FROM localhost/bb AS build
RUN mkdir -p /out && echo from-run >/out/run.txt

FROM localhost/bb
COPY payload.txt /data/payload.txt
COPY --from=build /out/run.txt /data/run.txt
RUN rm /etc/group && echo added >/data/added.txt
CMD ["cat", "/data/payload.txt"]
DF
  run sbx build -t localhost/pushme "$CTX"
  assert_success
  reg=$("$TESTS_DIR/fixtures/registry" start "$regdir")
  run sbx tag localhost/pushme "$reg/sbx-build/pushed:v1"
  assert_success
  run sbx push "$reg/sbx-build/pushed:v1"
  if [ "$status" -ne 0 ]; then "$TESTS_DIR/fixtures/registry" stop "$regdir"; fi
  assert_success
  run skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$reg/sbx-build/pushed:v1" \
    "oci:$t/layout:v1"
  "$TESTS_DIR/fixtures/registry" stop "$regdir"
  assert_success
  run umoci unpack --rootless --image "$t/layout:v1" "$t/bundle"
  assert_success
  run cat "$t/bundle/rootfs/data/payload.txt" "$t/bundle/rootfs/data/run.txt" \
    "$t/bundle/rootfs/data/added.txt"
  assert_success
  assert_output "payload
from-run
added"
  [ -x "$t/bundle/rootfs/bin/busybox" ] || fail "no busybox in umoci's unpack"
  [ ! -e "$t/bundle/rootfs/etc/group" ] || fail "the whiteout of /etc/group was not applied"
  [ -e "$t/bundle/rootfs/etc/passwd" ] || fail "no /etc/passwd"
  run jq -r '.process.args | join(" ")' "$t/bundle/config.json"
  assert_output "cat /data/payload.txt"
}
