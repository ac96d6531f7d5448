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
