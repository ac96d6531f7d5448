#!/usr/bin/env bats
# Volumes: sbx volume create|ls|inspect|rm|prune, -v NAME:/ctr (created on
# first use, seeded from the image), --mount, the image's VOLUME paths.

load helpers

setup_file() { sbx_file_setup; }
setup() {
  sbx_test_setup
  require_userns
  # An image with content at /data: a file owned by 1000:1000, mode 640, in
  # a directory of mode 750 (in single mode the chown is emulated: owner 0).
  mkdir -p "$BATS_TEST_TMPDIR/img"
  cp -a "$ROOTFS/." "$BATS_TEST_TMPDIR/img/"
  mkdir -p "$BATS_TEST_TMPDIR/img/data/sub"
  echo seeded >"$BATS_TEST_TMPDIR/img/data/hello"
  echo deep >"$BATS_TEST_TMPDIR/img/data/sub/deep"
  ln -s hello "$BATS_TEST_TMPDIR/img/data/link"
  chmod 750 "$BATS_TEST_TMPDIR/img/data"
  tar -C "$BATS_TEST_TMPDIR/img" --owner=0 --group=0 --numeric-owner \
    -czf "$BATS_TEST_TMPDIR/rootfs.tgz" .
  run sbx import "$BATS_TEST_TMPDIR/rootfs.tgz" localhost/bb
  assert_success
  CTX="$BATS_TEST_TMPDIR/ctx"
  mkdir -p "$CTX"
}

# localhost/vol: localhost/bb with VOLUME /data, /data/owned 1000:1000 0640.
build_volume_image() {
  cat >"$CTX/Dockerfile" <<'DF'
FROM localhost/bb
RUN echo mine >/data/owned && chown 1000:1000 /data/owned && chmod 640 /data/owned
VOLUME /data
DF
  run sbx build -t localhost/vol "$CTX"
  assert_success
}

@test "volumes: named volume seeded from the image, data survives rm and is visible to a second container" {
  run sbx run --name first -v appdata:/data localhost/bb \
    sh -c 'cat /data/hello /data/sub/deep; readlink /data/link; echo written >/data/new'
  assert_success
  assert_line --index 0 "seeded"
  assert_line --index 1 "deep"
  assert_line --index 2 "hello"
  run sbx rm first
  assert_success
  run sbx volume ls -q
  assert_output "appdata"
  # A second container, at another path: the data is there, not re-seeded.
  run sbx run --rm -v appdata:/srv localhost/bb sh -c 'cat /srv/new /srv/hello'
  assert_success
  assert_output $'written\nseeded'
}

@test "volumes: the copy keeps modes and owners" {
  build_volume_image
  run sbx run --rm -v owners:/data localhost/vol stat -c '%a %u:%g %n' /data /data/owned
  assert_success
  assert_line --index 0 "750 0:0 /data"
  if [ "$(sbx_mode)" = subuid ]; then
    assert_line --index 1 "640 1000:1000 /data/owned"
  else
    assert_line --index 1 "640 0:0 /data/owned"
  fi
}

@test "volumes: a volume that is not empty is not seeded again; nocopy does not seed" {
  run sbx volume create pre
  assert_success
  assert_output "pre"
  run sbx run --rm -v pre:/data localhost/bb sh -c 'rm -rf /data/* && echo mine >/data/only'
  assert_success
  run sbx run --rm -v pre:/data localhost/bb ls /data
  assert_success
  assert_output "only"
  run sbx run --rm -v fresh:/data:nocopy localhost/bb ls -A /data
  assert_success
  assert_output ""
}

@test "volumes: -v NAME:/path:ro is read-only" {
  run sbx run --rm -v rov:/data localhost/bb true
  assert_success
  run sbx run --rm -v rov:/data:ro localhost/bb sh -c 'cat /data/hello; echo x >/data/x'
  assert_failure
  assert_output --partial "seeded"
  assert_output --partial "Read-only file system"
  run sbx run --rm --mount type=volume,src=rov,dst=/data,readonly localhost/bb touch /data/y
  assert_failure
  assert_output --partial "Read-only file system"
}

@test "volumes: volume rm refuses a volume a container uses, -f removes it" {
  run sbx run --name user1 -v busy:/data localhost/bb true
  assert_success
  run sbx volume rm busy
  assert_equal "$status" 1
  assert_output --partial "volume \`busy\` is in use by container \`user1\`"
  run sbx volume ls -q
  assert_output "busy"
  run sbx volume rm -f busy
  assert_success
  assert_output "busy"
  run sbx volume ls -q
  assert_output ""
  run sbx volume rm nosuch
  assert_equal "$status" 1
  assert_output --partial "no such volume \`nosuch\`"
  run sbx volume rm -f nosuch
  assert_success
}

@test "volumes: volume rm removes files of other owners" {
  build_volume_image
  run sbx run --rm --fakeroot -v gone:/data localhost/vol sh -c 'mkdir /data/d && chmod 700 /data/d && echo x >/data/d/f && chown -R 1001:1001 /data/d'
  assert_success
  run sbx volume rm gone
  assert_success
  assert [ ! -e "$SBX_ROOT/volumes/gone" ]
}

@test "volumes: create, ls, inspect and their output shapes" {
  run sbx volume create --label team=hpc --label x named1
  assert_success
  assert_output "named1"
  run sbx volume create named1
  assert_success
  run sbx volume create
  assert_success
  assert_output --regexp '^[0-9a-f]{64}$'
  local anon=$output
  run sbx volume ls
  assert_success
  assert_line --index 0 --regexp '^DRIVER +VOLUME NAME$'
  assert_line --regexp '^local +named1$'
  assert_line --regexp "^local +$anon\$"
  run sbx volume ls --format json
  assert_success
  assert_output --partial '"Name": "named1"'
  assert_output --partial '"Driver": "local"'
  run sbx volume ls --format '{{.Name}}:{{.Driver}}' --filter label=team=hpc
  assert_success
  assert_output "named1:local"
  run sbx volume ls -q --filter dangling=true --filter name=named
  assert_output "named1"
  run sbx volume inspect named1
  assert_success
  assert_output --partial '"Mountpoint": "'"$SBX_ROOT"'/volumes/named1/_data"'
  assert_output --partial '"team": "hpc"'
  assert_output --regexp '"CreatedAt": "[0-9]{4}-[0-9]{2}-[0-9]{2}T'
  assert [ -d "$SBX_ROOT/volumes/named1/_data" ]
  run sbx volume inspect named1 nosuch
  assert_equal "$status" 1
  assert_output --partial "no such volume \`nosuch\`"
}

@test "volumes: invalid names are refused with exit 125" {
  run sbx volume create a
  assert_equal "$status" 125
  assert_output --partial "invalid volume name \`a\`"
  run sbx volume create 'bad name'
  assert_equal "$status" 125
  run sbx run --rm -v '-x:/data' localhost/bb true
  assert_equal "$status" 125
  assert_output --partial "not a valid volume name"
  run sbx run --rm -v 'ok:data' localhost/bb true
  assert_equal "$status" 125
  assert_output --partial "not absolute"
}

@test "volumes: prune removes only volumes no container uses" {
  run sbx run --name keeper -v kept:/data localhost/bb true
  assert_success
  sbx volume create loose1
  sbx volume create loose2
  run sbx volume prune -f
  assert_success
  assert_line --index 0 "Deleted Volumes:"
  assert_line "loose1"
  assert_line "loose2"
  assert_line --regexp '^Total reclaimed space: [0-9.]+[kMG]?B$'
  refute_line "kept"
  run sbx volume ls -q
  assert_output "kept"
  # Without -f it asks; "n" keeps everything.
  sbx rm keeper
  run sbx volume prune <<<"n"
  assert_success
  run sbx volume ls -q
  assert_output "kept"
  run sbx volume prune <<<"y"
  assert_success
  assert_line "kept"
  run sbx volume ls -q
  assert_output ""
}

@test "volumes: --mount type=bind, type=volume and type=tmpfs" {
  mkdir -p "$BATS_TEST_TMPDIR/host"
  echo fromhost >"$BATS_TEST_TMPDIR/host/f"
  run sbx run --rm \
    --mount "type=bind,source=$BATS_TEST_TMPDIR/host,target=/h,readonly" \
    --mount type=volume,source=mv,destination=/data \
    --mount type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770 \
    localhost/bb sh -c 'cat /h/f; cat /data/hello; stat -c %a /t; grep " /t " /proc/mounts; touch /h/x'
  assert_failure
  assert_line --index 0 "fromhost"
  assert_line --index 1 "seeded"
  assert_line --index 2 "1770"
  assert_line --partial "size=1024k"
  assert_output --partial "Read-only file system"
  run sbx volume ls -q
  assert_output "mv"
}

@test "volumes: --mount errors are one line naming the key, exit 125" {
  local spec
  for spec in "type=bind,source=/tmp,target=/x,bogus=1" "type=volume,src=v,dst=/x,tmpfs-size=1m" \
    "type=bind,target=/x" "type=volume,source=v" "type=tmpfs,target=/x,tmpfs-mode=abc" \
    "type=nfs,target=/x" "type=bind,source=/nonexistent-$RANDOM,target=/x"; do
    run sbx run --rm --mount "$spec" localhost/bb true
    assert_equal "$status" 125
    assert_equal "${#lines[@]}" 1
  done
  run sbx run --rm --mount type=bind,source=/tmp,target=/x,bogus=1 localhost/bb true
  assert_output --partial "unknown key \`bogus\`"
  run sbx run --rm --mount type=volume,source=v localhost/bb true
  assert_output --partial "\`target\` is required"
  run sbx run --rm --mount type=bind,source=/nonexistent-x,target=/x localhost/bb true
  assert_output --partial "does not exist"
}

@test "volumes: anonymous volumes (the image's VOLUME, -v /ctr, --mount without source) go with --rm" {
  build_volume_image
  run sbx run --rm localhost/vol sh -c 'cat /data/owned /data/hello'
  assert_success
  assert_output $'mine\nseeded'
  run sbx run --rm -v /scratch --mount type=volume,target=/other localhost/bb \
    sh -c 'echo x >/scratch/f && echo y >/other/f && cat /scratch/f /other/f'
  assert_success
  assert_output $'x\ny'
  run sbx volume ls -q
  assert_output ""
}

@test "volumes: a kept container keeps its anonymous volume across start; rm -v removes it" {
  build_volume_image
  run sbx run --name k localhost/vol sh -c 'echo 1 >>/data/count; cat /data/count'
  assert_success
  assert_output "1"
  run sbx volume ls -q
  assert_output --regexp '^[0-9a-f]{64}$'
  local anon=$output
  run sbx start -a k
  assert_success
  run sbx start -a k
  assert_success
  run sbx run --rm -v "$anon:/d" localhost/bb cat /d/count
  assert_output $'1\n1\n1'
  # An -v over the image's VOLUME path replaces the anonymous volume.
  run sbx run --rm -v named:/data localhost/vol cat /data/owned
  assert_success
  assert_output "mine"
  run sbx rm -v k
  assert_success
  run sbx volume ls -q
  assert_output "named"
}

@test "volumes: sbx rm without -v keeps the anonymous volume (prune removes it)" {
  build_volume_image
  run sbx run --name k2 localhost/vol true
  assert_success
  run sbx rm k2
  assert_success
  run sbx volume ls -q
  assert_output --regexp '^[0-9a-f]{64}$'
  run sbx volume prune -f
  assert_success
  run sbx volume ls -q
  assert_output ""
}

@test "volumes: -v ./rel and rel/dir are host paths relative to the working directory" {
  mkdir -p "$BATS_TEST_TMPDIR/work/rel/dir"
  echo a >"$BATS_TEST_TMPDIR/work/rel/a"
  echo b >"$BATS_TEST_TMPDIR/work/rel/dir/b"
  cd "$BATS_TEST_TMPDIR/work"
  run sbx run --rm -v ./rel:/r1 -v rel/dir:/r2 localhost/bb cat /r1/a /r2/b
  assert_success
  assert_output $'a\nb'
  run sbx volume ls -q
  assert_output ""
}

@test "volumes: named volumes work with --rootfs, anonymous ones are removed after the run" {
  run sbx run --rootfs "$BATS_TEST_TMPDIR/img" -v rfs:/data -v /tmpvol cat /data/hello
  assert_success
  assert_output "seeded"
  run sbx volume ls -q
  assert_output "rfs"
}

@test "volumes: the copy never follows the image's symlinks out of the root (also without openat2)" {
  local deny=${SBX_HELPERS:-$TESTS_DIR/../build/tests/helpers}/deny-syscall
  mkdir -p "$BATS_TEST_TMPDIR/secret"
  echo hostsecret >"$BATS_TEST_TMPDIR/secret/s"
  rm -rf "$BATS_TEST_TMPDIR/img/data"
  ln -s "$BATS_TEST_TMPDIR/secret" "$BATS_TEST_TMPDIR/img/data"
  run sbx run --rootfs "$BATS_TEST_TMPDIR/img" -v esc:/data sh -c 'ls -A /data; cat /data/s'
  assert_failure
  refute_output --partial hostsecret
  run sbx volume rm esc
  assert_success
  [ -x "$deny" ] || skip "$deny is missing (make tests builds it)"
  run env SBX_USERNS_MODE=single "$deny" openat2=ENOSYS -- "$SBX" run --rootfs "$BATS_TEST_TMPDIR/img" \
    -v esc2:/data sh -c 'ls -A /data; cat /data/s'
  assert_failure
  refute_output --partial hostsecret
}
