#!/usr/bin/env bats
# sbx save, load and import: docker-archive and OCI archives, judged by skopeo.

load helpers

setup_file() { sbx_file_setup; }
setup() {
  sbx_test_setup
  require_userns
  IMAGE=localhost/archive-test:1
}

# The archives are checked with skopeo (and jq): without them a test cannot
# tell a good archive from a bad one.  SBX_TEST_REQUIRE=registry makes this
# a failure, as for the registry tests.
require_skopeo() {
  local t missing=()
  for t in skopeo jq; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    require_feature registry yes ""
  else
    require_feature registry no "not installed: ${missing[*]} (scripts/install-deps)"
  fi
}

# Import a gzip tarball of the busybox rootfs as $IMAGE; IMAGE_ID gets its id.
import_busybox() {
  tar -C "$ROOTFS" --owner=0 --group=0 --numeric-owner -czf "$BATS_TEST_TMPDIR/rootfs.tgz" .
  run sbx import "$BATS_TEST_TMPDIR/rootfs.tgz" "$IMAGE"
  assert_success
  assert_output --regexp '^sha256:[0-9a-f]{64}$'
  IMAGE_ID=$output
}

# The image's id, manifest digest, DiffIDs and layer digests (compact JSON).
image_id() { sbx inspect "$1" | jq -r '.[0].Id'; }
image_digest() { sbx inspect "$1" | jq -r '.[0].Digest'; }
image_diff_ids() { sbx inspect "$1" | jq -c '.[0].Config.rootfs.diff_ids'; }
image_layers() { sbx inspect "$1" | jq -c '[.[0].Manifest.layers[].digest]'; }

# The manifest of the only image in the OCI layout DIR.
oci_dir_manifest() {
  local dir=$1 m
  m=$(jq -r '.manifests[0].digest' "$dir/index.json")
  cat "$dir/blobs/sha256/${m#sha256:}"
}

@test "archive: sbx import makes an image of a rootfs tarball that runs" {
  import_busybox
  assert_equal "$(image_id "$IMAGE")" "$IMAGE_ID"
  run sbx run --rm "$IMAGE" echo ok
  assert_success
  assert_output "ok"
}

@test "archive: sbx import reads stdin and an uncompressed tarball" {
  tar -C "$ROOTFS" --owner=0 --group=0 --numeric-owner -cf "$BATS_TEST_TMPDIR/rootfs.tar" .
  run bash -c '"${SBX_BIN:-sbx}" import - localhost/from-stdin <"$BATS_TEST_TMPDIR/rootfs.tar"'
  assert_success
  run sbx run --rm localhost/from-stdin cat /etc/hostname
  assert_success
  run sbx inspect localhost/from-stdin
  assert_output --partial 'application/vnd.oci.image.layer.v1.tar"'
}

@test "archive: sbx import needs a name and a tarball" {
  run -125 sbx import "$BATS_TEST_TMPDIR/nothing.tar"
  assert_output --partial "import needs a name"
  echo "not a tarball" >"$BATS_TEST_TMPDIR/junk"
  run -125 sbx import "$BATS_TEST_TMPDIR/junk" localhost/junk
  assert_output --partial "not a tar archive"
  run -125 sbx run --rm localhost/junk true
}

@test "archive: sbx save writes a docker-archive that skopeo reads" {
  require_skopeo
  import_busybox
  local diff_ids
  diff_ids=$(image_diff_ids "$IMAGE")
  run sbx save -o "$BATS_TEST_TMPDIR/d.tar" "$IMAGE"
  assert_success
  run skopeo inspect "docker-archive:$BATS_TEST_TMPDIR/d.tar"
  assert_success
  # A docker-archive's layers are uncompressed: their digests are the DiffIDs.
  assert_equal "$(echo "$output" | jq -c .Layers)" "$diff_ids"
  run skopeo inspect --config "docker-archive:$BATS_TEST_TMPDIR/d.tar"
  assert_success
  assert_equal "$(echo "$output" | jq -c .rootfs.diff_ids)" "$diff_ids"
  run skopeo copy -q "docker-archive:$BATS_TEST_TMPDIR/d.tar" "oci:$BATS_TEST_TMPDIR/oci-d:x"
  assert_success
  local cfg
  cfg=$(oci_dir_manifest "$BATS_TEST_TMPDIR/oci-d" | jq -r .config.digest)
  assert_equal "$(jq -c .rootfs.diff_ids "$BATS_TEST_TMPDIR/oci-d/blobs/sha256/${cfg#sha256:}")" \
    "$diff_ids"
  run tar -tf "$BATS_TEST_TMPDIR/d.tar"
  assert_line "manifest.json"
  assert_line "repositories"
  assert_line "${IMAGE_ID#sha256:}.json"
}

@test "archive: sbx save --format oci-archive writes a layout that skopeo reads" {
  require_skopeo
  import_busybox
  local digest layers
  digest=$(image_digest "$IMAGE")
  layers=$(image_layers "$IMAGE")
  run sbx save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" "$IMAGE"
  assert_success
  run skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/o.tar"
  assert_success
  # The blobs go as stored: the same manifest, the same layers.
  assert_equal "$(echo "$output" | jq -r .Digest)" "$digest"
  assert_equal "$(echo "$output" | jq -c .Layers)" "$layers"
  run skopeo copy -q "oci-archive:$BATS_TEST_TMPDIR/o.tar" "oci:$BATS_TEST_TMPDIR/oci-o:x"
  assert_success
  assert_equal "$(oci_dir_manifest "$BATS_TEST_TMPDIR/oci-o" | jq -c '[.layers[].digest]')" "$layers"
  run tar -xOf "$BATS_TEST_TMPDIR/o.tar" index.json
  assert_output --partial '"io.containerd.image.name": "localhost/archive-test:1"'
  assert_output --partial '"org.opencontainers.image.ref.name": "1"'
}

@test "archive: sbx save writes to stdout when it is not a terminal, the same bytes each time" {
  require_skopeo
  import_busybox
  run bash -c '"${SBX_BIN:-sbx}" save "$0" >"$BATS_TEST_TMPDIR/stdout.tar"' "$IMAGE"
  assert_success
  run sbx save -o "$BATS_TEST_TMPDIR/file.tar" "$IMAGE"
  assert_success
  run cmp "$BATS_TEST_TMPDIR/stdout.tar" "$BATS_TEST_TMPDIR/file.tar"
  assert_success
  run skopeo inspect "docker-archive:$BATS_TEST_TMPDIR/stdout.tar"
  assert_success
}

@test "archive: sbx save refuses a bad format or a missing image, and leaves no file" {
  import_busybox
  run -125 sbx save --format zip -o "$BATS_TEST_TMPDIR/x.tar" "$IMAGE"
  assert_output --partial "invalid --format"
  run -125 sbx save -o "$BATS_TEST_TMPDIR/x.tar" localhost/no-such-image
  assert_output --partial "no such image"
  run ls -A "$BATS_TEST_TMPDIR"
  refute_output --partial "x.tar"
}

@test "archive: sbx load of a docker-archive gives back the same image, after rmi too" {
  import_busybox
  run sbx save -o "$BATS_TEST_TMPDIR/d.tar" "$IMAGE"
  assert_success
  run sbx rmi "$IMAGE"
  assert_success
  run sbx load -i "$BATS_TEST_TMPDIR/d.tar"
  assert_success
  assert_output "Loaded image: $IMAGE"
  assert_equal "$(image_id "$IMAGE")" "$IMAGE_ID"
  run sbx run --rm "$IMAGE" echo ok
  assert_output "ok"
  # Loading what is already there is harmless; after rmi it loads again.
  run sbx load -i "$BATS_TEST_TMPDIR/d.tar"
  assert_success
  run sbx rmi "$IMAGE"
  assert_success
  run sbx load -q -i "$BATS_TEST_TMPDIR/d.tar"
  assert_success
  assert_equal "$(image_id "$IMAGE")" "$IMAGE_ID"
}

@test "archive: sbx load of an oci-archive, from stdin and gzip-compressed, keeps the digest" {
  import_busybox
  local digest
  digest=$(image_digest "$IMAGE")
  run sbx save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" "$IMAGE"
  assert_success
  run sbx rmi "$IMAGE"
  assert_success
  run bash -c '"${SBX_BIN:-sbx}" load <"$BATS_TEST_TMPDIR/o.tar"'
  assert_success
  assert_output "Loaded image: $IMAGE"
  assert_equal "$(image_digest "$IMAGE")" "$digest"
  assert_equal "$(image_id "$IMAGE")" "$IMAGE_ID"
  run sbx rmi "$IMAGE"
  assert_success
  gzip -k "$BATS_TEST_TMPDIR/o.tar"
  run sbx load -i "$BATS_TEST_TMPDIR/o.tar.gz"
  assert_success
  assert_equal "$(image_digest "$IMAGE")" "$digest"
  run sbx run --rm "$IMAGE" echo ok
  assert_output "ok"
}

@test "archive: sbx load reads archives that skopeo writes" {
  require_skopeo
  import_busybox
  run sbx save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" "$IMAGE"
  assert_success
  run skopeo copy -q "oci-archive:$BATS_TEST_TMPDIR/o.tar" \
    "docker-archive:$BATS_TEST_TMPDIR/skopeo-d.tar:localhost/from-skopeo:2"
  assert_success
  run sbx load -i "$BATS_TEST_TMPDIR/skopeo-d.tar"
  assert_success
  assert_output "Loaded image: localhost/from-skopeo:2"
  assert_equal "$(image_id localhost/from-skopeo:2)" "$IMAGE_ID"
  run skopeo copy -q "oci-archive:$BATS_TEST_TMPDIR/o.tar" \
    "oci-archive:$BATS_TEST_TMPDIR/skopeo-o.tar:localhost/from-skopeo:3"
  assert_success
  run sbx load -i "$BATS_TEST_TMPDIR/skopeo-o.tar"
  assert_success
  assert_output "Loaded image: localhost/from-skopeo:3"
  run sbx run --rm localhost/from-skopeo:3 echo ok
  assert_output "ok"
}

@test "archive: sbx load explains what is not an image archive" {
  echo '{}' >"$BATS_TEST_TMPDIR/x.json"
  tar -C "$BATS_TEST_TMPDIR" -cf "$BATS_TEST_TMPDIR/x.tar" x.json
  run -125 sbx load -i "$BATS_TEST_TMPDIR/x.tar"
  assert_output "sbx: load \`$BATS_TEST_TMPDIR/x.tar\`: not an image archive: no manifest.json or oci-layout"
  run -125 sbx load -i "$BATS_TEST_TMPDIR/missing.tar"
  assert_output --partial "No such file or directory"
  run -125 sbx load "$BATS_TEST_TMPDIR/x.tar"
  assert_output --partial "use -i FILE"
}
