# shellcheck shell=bash
# scripts/bench/lib.sh: set-up shared by the benchmark scripts (sourced).
#
# Provides log/die, package installation, the sbx binary, and the measuring
# environment: as root, the bench user sbx-bench (created on first use, with
# /etc/subuid and /etc/subgid ranges), a journaled ext4 image mounted through
# a loop device (this machine's root ext4 has no journal, see BENCH-NOTES.md),
# a 0700 tmpfs as XDG_RUNTIME_DIR and, on request, the cgroup hugetlb fix for
# crun; as a normal user, the caller on a plain temporary directory.  The
# cleanup trap undoes everything on exit.
#
# Use:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_install_deps PACKAGE...      # Debian packages the script needs
#   bench_find_sbx                      # SBX_BIN (empty: ./sbx, made when missing)
#   bench_setup                         # WORK, MNT, RUNDIR, BENCH_USER, SBX, ...
#   as_bench CMD...                     # run CMD as the bench user
#   podman_config DRIVER                # podman with its own graphroot/runroot
#   bench_cpu                           # "model name, N CPUs"
# Knobs, set before bench_setup: BENCH_LOOP_SIZE (default 2G) and
# BENCH_CGROUP_FIX (1, the default: move hugetlb to a v1 mount for crun).
# A script may define bench_cleanup_hook, run first on exit (errors ignored).

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
	printf 'bench: error: %s\n' "$*" >&2
	exit 1
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1

# --- Debian packages --------------------------------------------------------
# scripts/install-deps when present, then anything it left out from apt.
bench_install_deps() {
	local missing=() p
	if [[ -x $REPO/scripts/install-deps ]]; then
		log "installing packages with scripts/install-deps"
		"$REPO/scripts/install-deps" >&2
	fi
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "installing ${missing[*]} from Debian"
	local sudo=()
	((IS_ROOT)) || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 ||
		{
			"${sudo[@]}" apt-get update >&2
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
		}
}

# --- sbx binary -------------------------------------------------------------
bench_find_sbx() {
	if [[ -z ${SBX_BIN:-} ]]; then
		SBX_BIN=$REPO/sbx
		if [[ ! -x $SBX_BIN ]]; then
			log "building sbx with make"
			make -C "$REPO" >&2
		fi
	fi
	[[ -x $SBX_BIN ]] || die "sbx binary $SBX_BIN not found or not executable"
	SBX_BIN=$(realpath "$SBX_BIN")
}

# --- state and clean-up -----------------------------------------------------
BENCH_USER=
WORK=
MNT=
LOOPDEV=
RUNDIR_MOUNTED=0
HUGETLB_MOUNTED=0
HUGETLB_MADE_DIR=0
HUGETLB_DIR=/sys/fs/cgroup/hugetlb
RUNDIR=
LOCK_FD=
BENCH_LOOP_SIZE=${BENCH_LOOP_SIZE:-2G}
BENCH_CGROUP_FIX=${BENCH_CGROUP_FIX:-1}

kill_bench_processes() {
	local pidfile=$RUNDIR/libpod/tmp/pause.pid pid
	# podman's rootless pause process holds the user and mount namespaces
	# that still reference the store: it must go before the unmount.
	if [[ -n $RUNDIR && -f $pidfile ]]; then
		pid=$(<"$pidfile")
		if [[ $pid =~ ^[0-9]+$ ]]; then kill "$pid" 2>/dev/null || true; fi
	fi
	((IS_ROOT)) || return 0
	[[ -n $BENCH_USER ]] || return 0
	pkill -u "$BENCH_USER" 2>/dev/null || true
	local i
	for i in $(seq 50); do
		pgrep -u "$BENCH_USER" >/dev/null || return 0
		((i == 25)) && pkill -KILL -u "$BENCH_USER" 2>/dev/null
		sleep 0.1
	done
	log "warning: processes of $BENCH_USER are still running"
}

unmount() {
	local i
	for i in 1 2 3 4 5; do
		umount "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	log "warning: $1 is busy, detaching it lazily"
	umount -l "$1" || true
}

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	if declare -F bench_cleanup_hook >/dev/null; then bench_cleanup_hook; fi
	if ((!IS_ROOT)) && [[ -n $MNT ]] && compgen -G "$MNT/podman-*" >/dev/null; then
		# Without root, files of subordinate ids go only from inside podman's namespace.
		as_bench podman unshare rm -rf -- "$MNT"/podman-* "$RUNDIR"/podman-* 2>/dev/null
	fi
	kill_bench_processes
	if ((RUNDIR_MOUNTED)); then unmount "$RUNDIR"; fi
	if ((IS_ROOT)) && [[ -n $MNT ]] && mountpoint -q "$MNT"; then unmount "$MNT"; fi
	if [[ -n $LOOPDEV ]]; then losetup -d "$LOOPDEV" 2>/dev/null; fi
	if ((HUGETLB_MOUNTED)); then
		# Hand hugetlb back to the cgroup v2 hierarchy as we found it.
		unmount "$HUGETLB_DIR"
		((HUGETLB_MADE_DIR)) && rmdir "$HUGETLB_DIR" 2>/dev/null
	fi
	if [[ -n $WORK && -d $WORK ]]; then rm -rf --one-file-system "$WORK"; fi
	exit "$rc"
}

# Sets WORK, MNT, RUNDIR, BENCH_USER, BENCH_UID, STORE_NOTE, BENCH_HOME and
# SBX (a copy of SBX_BIN the bench user can run), and installs the trap.
bench_setup() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/sbx-bench.XXXXXX")
	chmod 0755 "$WORK"
	MNT=$WORK/mnt
	mkdir "$MNT"

	if ((IS_ROOT)); then
		# One benchmark at a time: the bench user and the cgroup fix are shared.
		exec {LOCK_FD}>/run/lock/sbx-bench.lock
		flock -w 600 "$LOCK_FD" || die "another scripts/bench run holds /run/lock/sbx-bench.lock"

		BENCH_USER=sbx-bench
		if ! id -u "$BENCH_USER" >/dev/null 2>&1; then
			log "creating user $BENCH_USER"
			useradd -M -d /nonexistent -s /usr/sbin/nologin -c "sbx benchmarks" "$BENCH_USER"
		fi
		if ! grep -q "^$BENCH_USER:" /etc/subuid || ! grep -q "^$BENCH_USER:" /etc/subgid; then
			local start
			start=$(awk -F: 'BEGIN { m = 100000 } NF == 3 && $2 + $3 > m { m = $2 + $3 }
				END { print m }' /etc/subuid /etc/subgid)
			log "giving $BENCH_USER subordinate ids $start-$((start + 65535))"
			usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$BENCH_USER"
		fi
		BENCH_UID=$(id -u "$BENCH_USER")
		BENCH_GID=$(id -g "$BENCH_USER")
		pkill -KILL -u "$BENCH_USER" 2>/dev/null || true # leftovers of an aborted run

		log "creating a journaled ext4 image on a loop device"
		truncate -s "$BENCH_LOOP_SIZE" "$WORK/store.img"
		mkfs.ext4 -q -F -O has_journal -L sbx-bench "$WORK/store.img"
		LOOPDEV=$(losetup --find --show "$WORK/store.img")
		mount -t ext4 "$LOOPDEV" "$MNT"
		chown "$BENCH_UID:$BENCH_GID" "$MNT"
		STORE_NOTE="journaled ext4 on $LOOPDEV"

		# There is no systemd to make XDG_RUNTIME_DIR: a 0700 tmpfs, as it would.
		RUNDIR=$WORK/run
		mkdir "$RUNDIR"
		mount -t tmpfs -o "mode=0700,uid=$BENCH_UID,gid=$BENCH_GID,size=64m" tmpfs "$RUNDIR"
		RUNDIR_MOUNTED=1

		# crun refuses hybrid cgroups while a controller sits in the v2 list;
		# hugetlb is the one this machine puts there: give it a v1 mount.
		local unified=/sys/fs/cgroup/unified/cgroup.controllers
		if ((BENCH_CGROUP_FIX)) && [[ -f $unified ]] && grep -qw hugetlb "$unified"; then
			log "moving the hugetlb controller to a cgroup v1 mount for crun"
			if [[ ! -d $HUGETLB_DIR ]]; then
				mkdir "$HUGETLB_DIR"
				HUGETLB_MADE_DIR=1
			fi
			mount -t cgroup -o hugetlb cgroup "$HUGETLB_DIR"
			HUGETLB_MOUNTED=1
		fi
		if ((BENCH_CGROUP_FIX)) && [[ -f $unified && -n $(tr -d '[:space:]' <"$unified") ]]; then
			log "warning: cgroup v2 still lists controllers ($(<"$unified")); crun may refuse to run"
		fi
	else
		BENCH_USER=$(id -un)
		BENCH_UID=$(id -u)
		STORE_NOTE="plain temporary directory (not root: no journaled ext4 loop image)"
		log "note: not root, so stores live on a $STORE_NOTE, as $BENCH_USER"
		RUNDIR=$WORK/run
		mkdir -m 0700 "$RUNDIR"
	fi

	BENCH_HOME=$MNT/home

	# Copy sbx where the bench user can read it (it cannot read /work).
	mkdir "$WORK/bin"
	install -m 0755 "$SBX_BIN" "$WORK/bin/sbx"
	# shellcheck disable=SC2034 # used by the scripts that source this file
	SBX=$WORK/bin/sbx
}

BENCH_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
as_bench() {
	local envs=(HOME="$BENCH_HOME" USER="$BENCH_USER" LOGNAME="$BENCH_USER"
		XDG_RUNTIME_DIR="$RUNDIR" XDG_CONFIG_HOME="$BENCH_HOME/.config"
		XDG_DATA_HOME="$BENCH_HOME/.local/share" SBX_ROOT="$MNT/sbx-store"
		PATH="$BENCH_PATH" LANG=C.UTF-8)
	if ((IS_ROOT)); then
		(cd "$WORK" && runuser -u "$BENCH_USER" -- env -i "${envs[@]}" "$@")
	else
		(cd "$WORK" && env -i "${envs[@]}" "$@")
	fi
}

# --- podman: its own graphroot/runroot per storage driver -------------------
podman_config() {
	local driver=$1 store=$MNT/podman-$1
	as_bench mkdir -p "$store/graph" "$RUNDIR/podman-$driver" "$BENCH_HOME/.config/containers"
	as_bench tee "$BENCH_HOME/.config/containers/storage.conf" >/dev/null <<EOF
[storage]
driver = "$driver"
graphroot = "$store/graph"
runroot = "$RUNDIR/podman-$driver"
EOF
	# No systemd here: cgroupfs, a file event log and k8s-file container logs.
	as_bench tee "$BENCH_HOME/.config/containers/containers.conf" >/dev/null <<EOF
[containers]
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "crun"
EOF
}

# --- report -----------------------------------------------------------------
bench_cpu() {
	local cpu
	cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	[[ -n $cpu ]] || cpu=$(uname -m)
	printf '%s, %s CPUs\n' "$cpu" "$(nproc)"
}
