#!/usr/bin/env bash
# Vendor the editor's JavaScript into mailer/static/vendor/ at exact versions, no CDN:
#   scripts/vendor-js.sh          fetch (npm pack / npm install), build, copy, write vendor.lock
#   scripts/vendor-js.sh --check  verify the committed files against vendor.lock (no network)
# GrapesJS and grapesjs-mjml (whose dist bundles mjml-browser) are copied as published; their
# French locales (CommonJS) and CodeMirror 6 are bundled into IIFE files with esbuild from the
# entries in scripts/vendor/. Source maps are left out.
set -euo pipefail

GRAPESJS=0.23.6
GRAPESJS_MJML=1.0.8
CODEMIRROR=6.0.2
LANG_HTML=6.4.12
LANG_XML=6.1.0
STATE=6.7.6
ESBUILD=0.28.2

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENDOR="$ROOT/mailer/static/vendor"
LOCK="$VENDOR/vendor.lock"

check() {
    cd "$VENDOR"
    local bad=0 listed
    while read -r sum path source; do
        [[ -z "$sum" || "$sum" == \#* ]] && continue
        if [[ ! -f "$path" ]]; then
            echo "missing: $path ($source)"; bad=1
        elif [[ "$(sha256sum "$path" | cut -d' ' -f1)" != "$sum" ]]; then
            echo "changed: $path (expected $source as locked)"; bad=1
        fi
    done < "$LOCK"
    listed="$(grep -v '^#' "$LOCK" | awk '{print $2}' | sort)"
    while read -r path; do
        if ! grep -qxF "$path" <<<"$listed"; then echo "not in vendor.lock: $path"; bad=1; fi
    done < <(find . -type f ! -name vendor.lock | sed 's|^\./||' | sort)
    if [[ $bad -ne 0 ]]; then
        echo "vendored files differ from vendor.lock: run scripts/vendor-js.sh" >&2
        return 1
    fi
    echo "vendored files match vendor.lock"
}

if [[ "${1:-}" == "--check" ]]; then
    check
    exit $?
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# The two GrapesJS packages exactly as published.
npm pack --silent "grapesjs@$GRAPESJS" "grapesjs-mjml@$GRAPESJS_MJML" >/dev/null

# CodeMirror and esbuild at exact versions (npm resolves their dependencies once, locked by
# the bundle's checksum below).
echo '{"private": true}' > package.json
npm install --silent --no-audit --no-fund --save-exact \
    "codemirror@$CODEMIRROR" "@codemirror/lang-html@$LANG_HTML" "@codemirror/lang-xml@$LANG_XML" \
    "@codemirror/state@$STATE" "esbuild@$ESBUILD" >/dev/null
# npm install prunes what package.json does not name: unpack the packed two after it.
mkdir -p node_modules/grapesjs node_modules/grapesjs-mjml
tar xzf "grapesjs-$GRAPESJS.tgz" -C node_modules/grapesjs --strip-components=1
tar xzf "grapesjs-mjml-$GRAPESJS_MJML.tgz" -C node_modules/grapesjs-mjml --strip-components=1
build() {  # build ENTRY OUTFILE
    cp "$ROOT/scripts/vendor/$1" "entry-$1"  # resolved against this folder's node_modules
    ./node_modules/.bin/esbuild "entry-$1" --bundle --minify --format=iife \
        --target=es2020 --legal-comments=eof --log-level=warning --outfile="$2"
}
build mailer-code.js mailer-code.min.js
build grapesjs-fr.js grapesjs-locale-fr.min.js

rm -rf "$VENDOR"
G="grapesjs-$GRAPESJS" M="grapesjs-mjml-$GRAPESJS_MJML" C="codemirror-$CODEMIRROR"
mkdir -p "$VENDOR/$G" "$VENDOR/$M" "$VENDOR/$C"
cp node_modules/grapesjs/dist/grapes.min.js node_modules/grapesjs/dist/css/grapes.min.css \
    node_modules/grapesjs/LICENSE "$VENDOR/$G/"
cp grapesjs-locale-fr.min.js "$VENDOR/$G/"
cp node_modules/grapesjs-mjml/dist/index.js "$VENDOR/$M/grapesjs-mjml.min.js"
cp node_modules/grapesjs-mjml/LICENSE "$VENDOR/$M/"
cp mailer-code.min.js "$VENDOR/$C/"
cp node_modules/codemirror/LICENSE "$VENDOR/$C/"

source_of() {
    case "$1" in
        "$G"/grapesjs-locale-fr.min.js) echo "grapesjs@$GRAPESJS+grapesjs-mjml@$GRAPESJS_MJML (esbuild@$ESBUILD)" ;;
        "$G"/*) echo "grapesjs@$GRAPESJS" ;;
        "$M"/*) echo "grapesjs-mjml@$GRAPESJS_MJML" ;;
        "$C"/*) echo "codemirror@$CODEMIRROR+@codemirror/lang-html@$LANG_HTML+@codemirror/lang-xml@$LANG_XML (esbuild@$ESBUILD)" ;;
    esac
}
{
    echo "# sha256 path source: written by scripts/vendor-js.sh, checked by --check"
    cd "$VENDOR"
    find . -type f ! -name vendor.lock | sed 's|^\./||' | sort | while read -r path; do
        echo "$(sha256sum "$path" | cut -d' ' -f1) $path $(source_of "$path")"
    done
} > "$LOCK"
check
