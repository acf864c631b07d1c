#!/usr/bin/env bash
# The system prerequisites of pipefix's test suite, beside Python's packages (which `make` installs
# from requirements.lock):
#   - PostgreSQL server binaries (initdb, pg_ctl): the tests start their own server;
#   - Chromium and chromedriver: the HTML report is opened in a real headless browser;
#   - a Java runtime, 17 or later (full tier only): PySpark's local mode and Spark Connect;
#   - Python 3.11+ with venv, and make: what `make test` itself runs on.
#
#   scripts/prereqs.sh check [everyday|full]   exit 1 naming the install command if one is missing
#   scripts/prereqs.sh install [everyday|full] install what is missing (Debian/Ubuntu, as root)
set -euo pipefail

mode=${1:-check}
tier=${2:-everyday}
case "$mode" in check | install) ;; *) echo "usage: $0 check|install [everyday|full]" >&2; exit 2 ;; esac
case "$tier" in everyday | full) ;; *) echo "usage: $0 check|install [everyday|full]" >&2; exit 2 ;; esac

have_python() {
    python3 -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}
have_postgres() {
    local bindir
    bindir=$(pg_config --bindir 2>/dev/null || true)
    { [ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ]; } \
        || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
have_chromium() { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }
have_java() {
    command -v java >/dev/null || return 1
    local version
    version=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
    [ -n "$version" ] && [ "$version" -ge 17 ]
}

# Debian package names per missing prerequisite (the Java line falls back for releases without 17).
missing=()
have_python || missing+=("python3 (3.11 or later) with python3-venv")
command -v make >/dev/null || missing+=(make)
have_postgres || missing+=(postgresql)
have_chromium || missing+=(chromium chromium-driver)
if [ "$tier" = full ] && ! have_java; then missing+=("openjdk-17-jre-headless"); fi

packages=()
for item in "${missing[@]+"${missing[@]}"}"; do
    case "$item" in python3*) packages+=(python3 python3-venv) ;; *) packages+=("$item") ;; esac
done
command="apt-get update && apt-get install -y ${packages[*]-}"

if [ ${#missing[@]} -eq 0 ]; then
    echo "prerequisites ($tier tier): all present"
    exit 0
fi

if [ "$mode" = check ]; then
    {
        echo "missing for the $tier test tier: ${missing[*]}"
        as_root=""
        [ "$(id -u)" -ne 0 ] && as_root="sudo "
        echo "install them (Debian/Ubuntu) with:  ${as_root}scripts/prereqs.sh install $tier"
        echo "which runs:                         $command"
    } >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "cannot install here (needs root and apt-get); run as root on Debian/Ubuntu:" >&2
    echo "  $command" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
java_wanted=0
for package in "${packages[@]}"; do [ "$package" = openjdk-17-jre-headless ] && java_wanted=1; done
others=()
for package in "${packages[@]}"; do [ "$package" != openjdk-17-jre-headless ] && others+=("$package"); done
if [ ${#others[@]} -gt 0 ]; then apt-get install -y "${others[@]}"; fi
if [ "$java_wanted" = 1 ]; then
    # Releases after Debian 12 ship 21 rather than 17; any 17+ runs Spark 4.
    apt-get install -y openjdk-17-jre-headless || apt-get install -y default-jre-headless
fi
exec "$0" check "$tier"
