#!/usr/bin/env bash
# Check deploy/: the systemd units with `systemd-analyze verify` and the nginx site with
# `nginx -t`. Needs neither a running systemd nor nginx, nor root, and installs nothing:
#
# - The units are verified under a throwaway root (--root) holding the system's own units
#   (for targets like network-online.target), ours in etc/systemd/system, and every command
#   they run at its install path: /opt/mailer/.venv/bin/X copied from this checkout's
#   .venv/bin/X, so a unit naming a command the requirements do not install fails, as does
#   any warning (unknown key, bad value), which systemd-analyze only prints.
# - The site is tested inside a minimal nginx.conf, with a throwaway self-signed certificate
#   and the log folder in place of the real ones.
#
# Debian packages: systemd (for systemd-analyze), nginx, openssl.
set -euo pipefail
cd "$(dirname "$0")/.."
INSTALL=/opt/mailer  # where the units expect the code and its .venv
work=$(mktemp -d /tmp/mailer-check-deploy.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0

echo "== systemd units (systemd-analyze verify)"
root="$work/root"
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd"
cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp -r deploy/systemd "$root/etc/systemd/system"
for cmd in $(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' deploy/systemd/*.service | sort -u); do
  case "$cmd" in
    "$INSTALL"/*) source_path="./${cmd#"$INSTALL"/}" ;;  # from this checkout
    /*) source_path="$cmd" ;;                               # a system command (/bin/kill)
    *) echo "deploy/systemd: ExecStart needs an absolute path: $cmd"; fail=1; continue ;;
  esac
  if [ ! -x "$source_path" ]; then
    echo "deploy/systemd: $cmd is not installed here ($source_path; make lint installs .venv)"
    fail=1
    continue
  fi
  mkdir -p "$root$(dirname "$cmd")"
  cp -L "$source_path" "$root$cmd"
done
units=()
for path in deploy/systemd/*.service deploy/systemd/*.target; do
  unit=$(basename "$path")
  units+=("${unit/@./@1.}")  # a template is verified as an instance of it
done
if ! out=$(systemd-analyze verify --root="$root" --man=no "${units[@]}" 2>&1) || [ -n "$out" ]; then
  echo "$out"
  fail=1
fi

echo "== nginx site (nginx -t)"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=mail.example.com" \
  -keyout "$work/privkey.pem" -out "$work/fullchain.pem" 2>/dev/null
mkdir -p "$work/logs"
sed -e "s#/etc/letsencrypt/live/[^/]*/#$work/#" -e "s#/var/log/nginx/#$work/logs/#" \
  deploy/nginx/mailer.conf >"$work/site.conf"
cat >"$work/nginx.conf" <<EOF
pid $work/nginx.pid;
error_log stderr;
events {}
http {
    include /etc/nginx/mime.types;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    include $work/site.conf;
}
EOF
if ! out=$(nginx -t -q -p "$work" -e stderr -c "$work/nginx.conf" 2>&1) || [ -n "$out" ]; then
  echo "$out"
  fail=1
fi

if [ "$fail" = 0 ]; then echo "deploy/ checks passed"; fi
exit "$fail"
