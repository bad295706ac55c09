#!/usr/bin/env bash
# Builds agentbox_VERSION_ARCH.deb (`make deb`): a release binary with the Swift runtime linked
# statically, so the package depends only on Debian libraries, then the package with dpkg-deb, then
# checks it with lintian (no error, no warning that packaging/lintian-overrides does not justify).
#
#   packaging/build-deb.sh               build and package the working tree
#   AGENTBOX_DEB_VERSION=0.1.0+test1 \
#   packaging/build-deb.sh --no-build    package the binary built last under another package version
#                                        (the package test uses this to exercise an upgrade)
#
# The version comes from the binary (`agentbox version`, i.e. Sources/Appliance/AgentboxVersion.swift);
# packaging/changelog must have an entry for it. Output: ./agentbox_VERSION_ARCH.deb, or in
# $AGENTBOX_DEB_DIR. The release build lives in .build-release (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

scratch=.build-release
maintainer="agentbox maintainers <maintainers@users.noreply.b-seed-621dd9c9.example>"
out_dir=${AGENTBOX_DEB_DIR:-.}
build=true
run_lintian=true

fail() { echo "build-deb: $*" >&2; exit 1; }
log() { echo "build-deb: $*"; }

for argument in "$@"; do
  case $argument in
    --no-build) build=false ;;
    --no-lintian) run_lintian=false ;;
    *) fail "unknown argument '$argument' (use --no-build, --no-lintian)" ;;
  esac
done

for tool in swift dpkg-deb dpkg-shlibdeps strip gzip readelf; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run scripts/install-deps.sh package"
done
if [ "$run_lintian" = true ]; then
  command -v lintian >/dev/null || fail "lintian is missing: run scripts/install-deps.sh package"
fi

# 1. The release binary.
# -z now: full RELRO (bind at load time), as Debian's hardening flags ask; it only changes the link.
build_flags=(-c release --static-swift-stdlib --product agentbox --scratch-path "$scratch" -Xlinker -z -Xlinker now)
bin_dir=$(swift build "${build_flags[@]}" --show-bin-path)
if [ "$build" = true ]; then
  log "swift build ${build_flags[*]}"
  build_log=$(mktemp)
  trap 'rm -f "$build_log"' EXIT
  started=$(date +%s)
  if ! swift build "${build_flags[@]}" >"$build_log" 2>&1; then
    tail -n 60 "$build_log" >&2
    fail "the release build failed (above)"
  fi
  if grep -E "^/.*/(Sources|Tests)/.*: warning:" "$build_log" | grep -v "/$scratch/"; then
    fail "the release build has compiler warnings in agentbox's own code (above); fix them"
  fi
  log "release build: $(($(date +%s) - started)) s"
fi
binary=$bin_dir/agentbox
[ -x "$binary" ] || fail "no release binary at $binary: run without --no-build"

# Only Debian libraries may be needed at run time: no Swift runtime or Foundation library.
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if echo "$needed" | grep -E '^lib(swift|Foundation|dispatch|BlocksRuntime|_Foundation)'; then
  fail "the binary needs the Swift runtime libraries above: it was not linked with --static-swift-stdlib"
fi

# 2. The version.
binary_version=$("$binary" version | sed -n 's/^agentbox //p')
[ -n "$binary_version" ] || fail "'$binary version' did not print 'agentbox VERSION'"
version=${AGENTBOX_DEB_VERSION:-$binary_version}
[[ $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || fail "'$version' is not a native Debian version (digits, letters, . + ~)"
changelog_version=$(sed -n '1s/^agentbox (\([^)]*\)).*/\1/p' packaging/changelog)
if [ -z "${AGENTBOX_DEB_VERSION:-}" ] && [ "$changelog_version" != "$version" ]; then
  fail "packaging/changelog starts with $changelog_version but the binary is $version: add a changelog entry for $version"
fi
arch=$(dpkg --print-architecture)

# 3. The file tree, owned by root (dpkg-deb --root-owner-group), files 0644, programs and dirs 0755.
umask 022
root=$scratch/deb/root
rm -rf "$scratch/deb"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/agentbox" \
  "$root/usr/share/doc/agentbox" "$root/usr/share/man/man1" "$root/usr/share/lintian/overrides"

# Stripped like dh_strip does (Debian ships no debug symbols in the program itself).
strip --strip-unneeded --remove-section=.comment --remove-section=.note -o "$root/usr/bin/agentbox" "$binary"
chmod 0755 "$root/usr/bin/agentbox"
install -m 0644 packaging/agentbox.service "$root/lib/systemd/system/agentbox.service"
install -m 0644 packaging/agentbox.conf "$root/etc/agentbox/agentbox.conf"
install -m 0644 packaging/copyright "$root/usr/share/doc/agentbox/copyright"
install -m 0644 packaging/lintian-overrides "$root/usr/share/lintian/overrides/agentbox"
changelog=$scratch/deb/changelog
if [ "$changelog_version" != "$version" ]; then
  # A test build under another version: an entry of its own on top, as a real release would have.
  {
    echo "agentbox ($version) bookworm; urgency=medium"
    echo
    echo "  * Test build of agentbox $binary_version packaged as $version."
    echo
    echo " -- $maintainer  $(date -R -u)"
    echo
    cat packaging/changelog
  } >"$changelog"
else
  cp packaging/changelog "$changelog"
fi
gzip -9nc "$changelog" >"$root/usr/share/doc/agentbox/changelog.gz"
gzip -9nc packaging/agentbox.1 >"$root/usr/share/man/man1/agentbox.1.gz"
install -m 0755 packaging/postinst packaging/prerm packaging/postrm "$root/DEBIAN/"
install -m 0644 packaging/triggers "$root/DEBIAN/triggers"
echo /etc/agentbox/agentbox.conf >"$root/DEBIAN/conffiles"

# 4. Dependencies: the shared libraries the binary needs, with the versions dpkg-shlibdeps finds on
# this (Debian 12) system; adduser for postinst. Docker is recommended: local toolboxes need it.
shlibs_dir=$scratch/deb/shlibs
mkdir -p "$shlibs_dir/debian"
printf 'Source: agentbox\n\nPackage: agentbox\nArchitecture: any\n' >"$shlibs_dir/debian/control"
shlibs=$(cd "$shlibs_dir" && dpkg-shlibdeps -O "$repo/$root/usr/bin/agentbox" 2>"$repo/$shlibs_dir/warnings" | sed -n 's/^shlibs:Depends=//p') \
  || { cat "$shlibs_dir/warnings" >&2; fail "dpkg-shlibdeps failed"; }
[ -n "$shlibs" ] || { cat "$shlibs_dir/warnings" >&2; fail "dpkg-shlibdeps found no library dependency"; }
for library in libsqlite3-0 libsodium23 libcurl4; do
  [[ $shlibs == *"$library "* || $shlibs == *"$library," || $shlibs == *"$library" ]] \
    || fail "the binary should depend on $library but dpkg-shlibdeps says: $shlibs"
done

# Reproducible times: every file gets the date of the latest changelog entry.
SOURCE_DATE_EPOCH=$(date -d "$(sed -n 's/^ -- .*>  //p' "$changelog" | head -n 1)" +%s)
export SOURCE_DATE_EPOCH
find "$root" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +

installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: agentbox
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: adduser, $shlibs
Recommends: docker.io | docker-ce
Suggests: sqlite3
Section: admin
Priority: optional
Description: self-hosted appliance that runs tools for AI agents
 agentbox keeps users, agents, an admin-curated tool catalog, tool hosts
 (toolboxes), tool instances and each agent's toolbelt in one SQLite file,
 and seals every agent credential in a libsodium vault. It runs tool
 containers on the local Docker engine and hands an agent's credentials to
 a tool for one call only.
 .
 This package runs agentbox as the systemd service agentbox.service under
 the system user agentbox, with its data in /var/lib/agentbox and its
 settings in /etc/agentbox/agentbox.conf.
EOF
(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path ./etc/agentbox/agentbox.conf -printf '%P\0' | sort -z \
  | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums" "$root/DEBIAN/triggers"
touch --date="@$SOURCE_DATE_EPOCH" "$root/DEBIAN" "$root/DEBIAN/"*

# 5. The package.
mkdir -p "$out_dir"
deb=$out_dir/agentbox_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
log "built $deb ($(du -h "$deb" | cut -f1); Depends: adduser, $shlibs)"

# 6. lintian: errors and unjustified warnings fail the build; the overrides give each reason.
if [ "$run_lintian" = true ]; then
  log "lintian $deb"
  if ! lintian --fail-on error,warning --display-info "$deb"; then
    fail "lintian found errors or warnings (above): fix them, or justify a warning in packaging/lintian-overrides"
  fi
  log "lintian: no errors, no unjustified warnings"
fi
