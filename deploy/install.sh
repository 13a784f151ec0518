#!/usr/bin/env bash
# Installs SmartBin on a Raspberry Pi (Raspberry Pi OS Bookworm / Debian 12, arm64), or stages
# it into a folder (an SD card's root mounted elsewhere, or a test directory). Idempotent: a
# second run with the same inputs changes nothing and says so.
#
#   deploy/install.sh --board pi5 --binary PATH [--root DIR] [--config FILE] [--yes] [--no-systemd]
#   deploy/install.sh --uninstall [--purge] [--root DIR] [--yes] [--no-systemd]
#
# What it lays down (under DIR, default /):
#   usr/local/bin/smartbin                 0755 root:root
#   etc/smartbin/config.toml               0640 root:smartbin  (commented defaults, or --config; never overwritten)
#   etc/smartbin/board/<board>.toml        0644 root:root
#   var/lib/smartbin/{,outbox,models,models/incoming}  0750 smartbin:smartbin
#   etc/systemd/system/smartbin.service    0644 root:root
#   etc/udev/rules.d/60-smartbin.rules     0644 root:root
#   usr/local/share/smartbin/install.manifest  what was installed, with intended owners (for --uninstall)
# and, after asking (or with --yes), the board's config.txt lines in boot/firmware/config.txt
# between "# >>> smartbin" / "# <<< smartbin" markers.
#
# Only with DIR = / does it touch the running system: apt packages, the `smartbin` system user
# in the board's groups, chown, udev reload, `systemctl enable`. With another DIR nothing of the
# host changes: owners and the intended passwd/group entries are recorded in the manifest, and
# the service is enabled by the wants/ symlink systemd itself would create.
#
# --uninstall removes what the manifest lists; the data in var/lib/smartbin and an edited
# config.toml stay unless --purge (which also removes the user on a real root). Removing the
# config.txt block is asked too; when it is not done (no terminal, or declined) the manifest
# stays with just that entry, so a later `--uninstall --yes` removes it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

root=/
board=""
binary=""
config=""
uninstall=false
purge=false
assume_yes=false
use_systemd=true

runtime_packages=(libopenblas0 libjpeg62-turbo libgpiod2 libv4l-0 libmosquitto1)
service_user=smartbin
manifest_rel=usr/local/share/smartbin/install.manifest
changes=0

usage() {
    sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

die() {
    echo "install: error: $*" >&2
    exit 1
}

note() { echo "install: $*"; }

while (($#)); do
    case "$1" in
        --root) root="${2:?--root needs a folder}"; shift 2 ;;
        --board) board="${2:?--board needs a name}"; shift 2 ;;
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        --config) config="${2:?--config needs a file}"; shift 2 ;;
        --uninstall) uninstall=true; shift ;;
        --purge) purge=true; shift ;;
        --yes | -y) assume_yes=true; shift ;;
        --no-systemd) use_systemd=false; shift ;;
        -h | --help) usage 0 ;;
        *) echo "install: unknown option '$1'" >&2; usage ;;
    esac
done

[[ -d "$root" ]] || die "--root $root is not a folder"
root="$(cd "$root" && pwd)"
real_root=false
[[ "$root" == / ]] && real_root=true
# DIR-relative path → absolute path on this machine.
at() { if $real_root; then echo "/$1"; else echo "$root/$1"; fi; }
manifest="$(at "$manifest_rel")"

if $real_root && [[ $(id -u) -ne 0 ]]; then
    die "installing into / needs root: run it with sudo"
fi

# systemd is only driven on a real root where it is PID 1.
systemd_running() { $real_root && $use_systemd && [[ -d /run/systemd/system ]]; }

ask() {
    # ask QUESTION → 0 for yes. --yes answers yes; no terminal answers no.
    if $assume_yes; then return 0; fi
    if [[ ! -t 0 ]]; then
        note "$1 — not asked (no terminal); rerun with --yes to do it"
        return 1
    fi
    local reply
    read -r -p "install: $1 [y/N] " reply
    [[ "$reply" == [yY]* ]]
}

# MARK: Manifest

manifest_lines=()
record() { manifest_lines+=("$*"); }

write_manifest() {
    local tmp
    mkdir -p "$(dirname "$manifest")"
    # Built outside the folder: an unchanged manifest must not even touch its folder's mtime.
    tmp="$(mktemp)"
    {
        echo "# SmartBin install manifest, written by deploy/install.sh; read by --uninstall."
        echo "# kind  path  mode  owner:group  [sha256]"
        printf '%s\n' "${manifest_lines[@]}"
    } >"$tmp"
    if [[ -f "$manifest" ]] && cmp -s "$tmp" "$manifest"; then
        rm -f "$tmp"
    else
        install -m 0644 "$tmp" "$manifest.tmp"
        mv -f "$manifest.tmp" "$manifest"
        rm -f "$tmp"
        changes=$((changes + 1))
    fi
}

# MARK: Idempotent file operations

# set_owner PATH OWNER:GROUP — only on a real root (elsewhere the manifest records it).
set_owner() {
    if $real_root && [[ "$(stat -c %U:%G "$1")" != "$2" ]]; then
        chown "$2" "$1"
        changes=$((changes + 1))
    fi
}

# put_file SOURCE REL MODE OWNER [keep] — copies when the content or mode differs; with
# `keep`, an existing different file is left alone (the user's edits) and REL.new is written.
put_file() {
    local source="$1" rel="$2" mode="$3" owner="$4" keep="${5:-}" dest
    dest="$(at "$rel")"
    mkdir -p "$(dirname "$dest")"
    if [[ -f "$dest" ]] && cmp -s "$source" "$dest"; then
        :
    elif [[ -f "$dest" && "$keep" == keep ]]; then
        if ! { [[ -f "$dest.new" ]] && cmp -s "$source" "$dest.new"; }; then
            install -m "$mode" "$source" "$dest.new"
            changes=$((changes + 1))
        fi
        note "kept your $dest; the new version is $dest.new"
    else
        local tmp
        tmp="$(mktemp "$dest.XXXXXX")"
        cp "$source" "$tmp"
        chmod "$mode" "$tmp"
        mv -f "$tmp" "$dest"
        note "installed $dest"
        changes=$((changes + 1))
    fi
    if [[ "$(stat -c %a "$dest")" != "${mode#0}" ]]; then
        chmod "$mode" "$dest"
        changes=$((changes + 1))
    fi
    set_owner "$dest" "$owner"
    # The digest of what this script installed (a kept, edited file keeps its first digest), so
    # that --uninstall can tell an edited config from ours.
    local sha
    sha="$(sha256sum "$dest" | cut -d' ' -f1)"
    if [[ "$keep" == keep && -f "$dest.new" ]] && ! cmp -s "$source" "$dest"; then
        sha="$(awk -v p="/$rel" '$1 == "file" && $2 == p { print $5 }' "$manifest" 2>/dev/null || true)"
        sha="${sha:--}"
    fi
    record "file /$rel $mode $owner $sha"
}

# put_dir REL MODE OWNER [data]
put_dir() {
    local rel="$1" mode="$2" owner="$3" kind="${4:-dir}" dest
    dest="$(at "$rel")"
    if [[ ! -d "$dest" ]]; then
        mkdir -p "$dest"
        note "created $dest/"
        changes=$((changes + 1))
    fi
    if [[ "$(stat -c %a "$dest")" != "${mode#0}" ]]; then
        chmod "$mode" "$dest"
        changes=$((changes + 1))
    fi
    set_owner "$dest" "$owner"
    record "$kind /$rel $mode $owner"
}

# put_link REL TARGET
put_link() {
    local rel="$1" target="$2" dest
    dest="$(at "$rel")"
    mkdir -p "$(dirname "$dest")"
    if [[ "$(readlink "$dest" 2>/dev/null || true)" != "$target" ]]; then
        ln -sfn "$target" "$dest"
        note "linked $dest -> $target"
        changes=$((changes + 1))
    fi
    record "link /$rel - root:root $target"
}

# MARK: Board profile

# board_list KEY — the one-line string array KEY = ["a", "b"] of the board profile, one per
# line (profile strings have no escapes: board/README.md).
board_list() {
    local profile="$repo/board/$board.toml" line
    line="$(grep -E "^[[:space:]]*$1[[:space:]]*=" "$profile" | head -n 1 || true)"
    [[ -n "$line" ]] || return 0
    line="${line#*=}"
    line="${line%%#*}"
    grep -oE '"[^"]*"' <<<"$line" | sed 's/^"//; s/"$//' || true
}

boot_config() {
    # Bookworm: /boot/firmware/config.txt; older images: /boot/config.txt.
    if [[ -f "$(at boot/firmware/config.txt)" || ! -f "$(at boot/config.txt)" ]]; then
        echo boot/firmware/config.txt
    else
        echo boot/config.txt
    fi
}

marker_begin="# >>> smartbin (deploy/install.sh)"
marker_end="# <<< smartbin"

apply_config_txt() {
    local rel file lines=()
    mapfile -t lines < <(board_list config_txt)
    ((${#lines[@]})) || return 0
    rel="$(boot_config)"
    file="$(at "$rel")"
    local block
    block="$(printf '%s\n' "$marker_begin board $board" "${lines[@]}" "$marker_end")"
    if [[ -f "$file" && "$(current_block "$file")" == "$block" ]]; then
        record "block /$rel"
        return 0
    fi
    if [[ ! -f "$file" ]] && $real_root; then
        note "no $file: add these lines to your config.txt by hand: ${lines[*]}"
        return 0
    fi
    if ! ask "add ${lines[*]} to $file (takes effect after a reboot)?"; then
        note "config.txt unchanged; the servo needs: ${lines[*]}"
        # A block an earlier run added (another board's) stays listed, so --uninstall can remove it.
        if [[ -f "$file" ]] && grep -qF "$marker_begin" "$file"; then record "block /$rel"; fi
        return 0
    fi
    if [[ ! -f "$file" ]]; then
        # A staging root without a boot partition: created only once the answer is yes.
        mkdir -p "$(dirname "$file")"
        : >"$file"
    fi
    local tmp
    tmp="$(mktemp "$file.XXXXXX")"
    remove_block "$file" >"$tmp"
    printf '%s\n' "$block" >>"$tmp"
    chmod --reference="$file" "$tmp" 2>/dev/null || chmod 0644 "$tmp"
    mv -f "$tmp" "$file"
    note "added the $board lines to $file (reboot to apply)"
    changes=$((changes + 1))
    record "block /$rel"
}

# current_block FILE — our marked block in FILE (markers included), on stdout.
current_block() {
    awk -v begin="$marker_begin" -v end="$marker_end" '
        index($0, begin) == 1 { inside = 1 }
        inside { print }
        inside && $0 == end { inside = 0 }' "$1"
}

# remove_block FILE — FILE without our marked block, on stdout.
remove_block() {
    awk -v begin="$marker_begin" -v end="$marker_end" '
        index($0, begin) == 1 { skipping = 1; next }
        skipping && $0 == end { skipping = 0; next }
        !skipping { print }' "$1"
}

# MARK: Install

install_packages() {
    if ! $real_root; then
        note "not installing packages into $root (runtime packages: ${runtime_packages[*]})"
        return 0
    fi
    local missing=() p
    for p in "${runtime_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        note "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
        changes=$((changes + 1))
    fi
}

ensure_user() {
    local groups=() g
    mapfile -t groups < <(board_list groups)
    ((${#groups[@]})) || groups=(gpio video)
    if ! $real_root; then
        record "passwd $service_user:x:SYSTEM:SYSTEM:SmartBin firmware:/var/lib/smartbin:/usr/sbin/nologin"
        record "group $service_user:x:SYSTEM:"
        for g in "${groups[@]}"; do record "member $g $service_user"; done
        return 0
    fi
    for g in "${groups[@]}"; do
        if ! getent group "$g" >/dev/null; then
            groupadd --system "$g"
            note "created group $g"
            changes=$((changes + 1))
        fi
    done
    if ! getent passwd "$service_user" >/dev/null; then
        useradd --system --user-group --home-dir /var/lib/smartbin --no-create-home \
            --shell /usr/sbin/nologin --comment "SmartBin firmware" "$service_user"
        note "created system user $service_user"
        changes=$((changes + 1))
    fi
    for g in "${groups[@]}"; do
        if ! id -nG "$service_user" | tr ' ' '\n' | grep -qx "$g"; then
            usermod -aG "$g" "$service_user"
            changes=$((changes + 1))
        fi
    done
    record "user $service_user $(IFS=,; echo "${groups[*]}")"
}

do_install() {
    if [[ -z "$board" ]]; then
        local known=() f
        for f in "$repo"/board/*.toml; do known+=("$(basename "$f" .toml)"); done
        die "--board is required (one of: ${known[*]})"
    fi
    [[ -f "$repo/board/$board.toml" ]] || die "no board profile board/$board.toml"
    [[ -n "$binary" ]] || die "--binary is required (the smartbin executable for the target; see deploy/README.md)"
    [[ -f "$binary" && -x "$binary" ]] || die "--binary $binary is not an executable file"
    [[ -z "$config" || -f "$config" ]] || die "--config $config does not exist"

    install_packages
    ensure_user
    local svc="$service_user:$service_user"
    put_file "$binary" usr/local/bin/smartbin 0755 root:root
    put_dir etc/smartbin 0755 root:root
    put_dir etc/smartbin/board 0755 root:root
    put_file "$repo/board/$board.toml" "etc/smartbin/board/$board.toml" 0644 root:root
    local generated
    generated="$(mktemp)"
    if [[ -n "$config" ]]; then
        cp "$config" "$generated"
    else
        sed "s/^# board = \"generic\"/board = \"$board\"/" "$here/config.template.toml" >"$generated"
    fi
    put_file "$generated" etc/smartbin/config.toml 0640 "root:$service_user" keep
    rm -f "$generated"
    put_dir var/lib/smartbin 0750 "$svc" data
    put_dir var/lib/smartbin/outbox 0750 "$svc" data
    put_dir var/lib/smartbin/models 0750 "$svc" data
    put_dir var/lib/smartbin/models/incoming 0750 "$svc" data
    put_file "$here/smartbin.service" etc/systemd/system/smartbin.service 0644 root:root
    put_file "$here/60-smartbin.rules" etc/udev/rules.d/60-smartbin.rules 0644 root:root
    apply_config_txt

    if $use_systemd; then
        if systemd_running; then
            systemctl daemon-reload
            udevadm control --reload-rules || true
            udevadm trigger --subsystem-match=pwm || true
            if ! systemctl is-enabled --quiet smartbin.service; then
                systemctl enable smartbin.service
                changes=$((changes + 1))
            fi
            if systemctl is-active --quiet smartbin.service; then
                systemctl restart smartbin.service
                note "restarted smartbin.service"
            else
                note "enabled smartbin.service; start it with: systemctl start smartbin (after setting model.path)"
            fi
        else
            # What `systemctl enable` does, without a running systemd.
            put_link etc/systemd/system/multi-user.target.wants/smartbin.service /etc/systemd/system/smartbin.service
        fi
    fi
    record "board $board"
    write_manifest
    if $real_root && [[ -n "$config" || -f /etc/smartbin/config.toml ]]; then
        /usr/local/bin/smartbin config check /etc/smartbin/config.toml || note "fix the config above before starting the service"
    fi
    note "$changes change(s)"
}

# MARK: Uninstall

do_uninstall() {
    if [[ ! -f "$manifest" ]]; then
        note "no manifest at $manifest: nothing installed by this script there"
        note "0 change(s)"
        return 0
    fi
    if systemd_running; then
        systemctl disable --now smartbin.service || true
    fi
    local kind path mode owner extra dest
    local dirs=() left=()
    # Files and links first, folders after (deepest first).
    while read -r kind path mode owner extra; do
        dest="$(at "${path#/}")"
        case "$kind" in
            file)
                [[ -e "$dest" ]] || continue
                if [[ "$path" == /etc/smartbin/config.toml ]] && ! $purge &&
                    [[ "$(sha256sum "$dest" | cut -d' ' -f1)" != "$extra" ]]; then
                    note "kept $dest (edited since install; --purge removes it)"
                    rm -f "$dest.new"
                    continue
                fi
                rm -f "$dest" "$dest.new"
                note "removed $dest"
                changes=$((changes + 1))
                ;;
            link)
                if [[ -L "$dest" ]]; then rm -f "$dest"; note "removed $dest"; changes=$((changes + 1)); fi
                ;;
            block)
                if [[ ! -f "$dest" ]] || ! grep -qF "$marker_begin" "$dest"; then continue; fi
                if ! ask "remove the SmartBin lines from $dest?"; then
                    # Still ours to remove: the manifest keeps this entry for a later --uninstall.
                    left+=("$kind $path")
                    continue
                fi
                local tmp
                tmp="$(mktemp "$dest.XXXXXX")"
                remove_block "$dest" >"$tmp"
                chmod --reference="$dest" "$tmp"
                mv -f "$tmp" "$dest"
                note "removed the SmartBin lines from $dest"
                changes=$((changes + 1))
                ;;
            dir) dirs+=("$dest") ;;
            data) if $purge; then dirs+=("$dest"); fi ;;
        esac
    done < <(grep -v '^#' "$manifest")
    local d
    for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
        d="${dirs[i]}"
        [[ -d "$d" ]] || continue
        if [[ "$d" == "$(at var/lib/smartbin)" || "$d" == "$(at var/lib/smartbin)"/* ]]; then
            rm -rf "$d"
            note "removed $d/ (--purge)"
            changes=$((changes + 1))
        elif rmdir "$d" 2>/dev/null; then
            note "removed $d/"
            changes=$((changes + 1))
        fi
    done
    if ! $purge && [[ -d "$(at var/lib/smartbin)" ]]; then
        note "kept $(at var/lib/smartbin)/ (outbox and models; --purge removes it)"
    fi
    if ((${#left[@]})); then
        # Only what is still to undo; everything else is gone.
        manifest_lines=("${left[@]}")
        write_manifest
        note "kept $manifest for what is left (rerun --uninstall --yes to finish)"
    else
        rm -f "$manifest"
        rmdir "$(dirname "$manifest")" 2>/dev/null || true
    fi
    if systemd_running; then
        systemctl daemon-reload
        udevadm control --reload-rules || true
    fi
    if $real_root && $purge && getent passwd "$service_user" >/dev/null; then
        userdel "$service_user"
        note "removed user $service_user"
    fi
    note "$changes change(s)"
}

if $uninstall; then do_uninstall; else do_install; fi
