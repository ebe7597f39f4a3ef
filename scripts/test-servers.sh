#!/usr/bin/env bash
# Start a throwaway MariaDB and Redis on loopback for the test suite, and print the
# environment variables that point the suite at them.
#   eval "$(scripts/test-servers.sh start /tmp/mailer-servers)"   ...   scripts/test-servers.sh stop /tmp/mailer-servers
set -euo pipefail
cmd=${1:-start}
dir=${2:-/tmp/mailer-test-servers}
db_port=${MAILER_TEST_DB_PORT:-3307}
redis_port=${MAILER_TEST_REDIS_PORT:-6390}

start() {
  mkdir -p "$dir"
  if [ ! -d "$dir/mysql/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$dir/mysql" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/mariadb-install.log" 2>&1
  fi
  if ! mariadb-admin --no-defaults --protocol=tcp -h127.0.0.1 -P"$db_port" -uroot status >/dev/null 2>&1; then
    mariadbd --no-defaults --datadir="$dir/mysql" --user="$(id -un)" --bind-address=127.0.0.1 \
      --port="$db_port" --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
      --innodb-buffer-pool-size=512M --innodb-flush-log-at-trx-commit=2 --skip-log-bin \
      --max-connections=500 >"$dir/mariadb.log" 2>&1 &
    for _ in $(seq 1 60); do
      mariadb-admin --no-defaults --protocol=tcp -h127.0.0.1 -P"$db_port" -uroot status >/dev/null 2>&1 && break
      sleep 0.5
    done
  fi
  mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$db_port" -uroot -e \
    "CREATE DATABASE IF NOT EXISTS mailer_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
     CREATE USER IF NOT EXISTS 'mailer'@'127.0.0.1' IDENTIFIED BY 'mailer';
     GRANT ALL ON *.* TO 'mailer'@'127.0.0.1'; FLUSH PRIVILEGES;" >&2
  if ! redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
    for _ in $(seq 1 40); do redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.25; done
  fi
  echo "export MAILER_TEST_DATABASE_URL='mysql+mysqldb://mailer:mailer@127.0.0.1:$db_port/mailer_test?charset=utf8mb4'"
  echo "export TEST_REDIS_URL='redis://127.0.0.1:$redis_port/0'"
}

stop() {
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  [ -f "$dir/mysqld.pid" ] && kill "$(cat "$dir/mysqld.pid")" 2>/dev/null || true
}

"$cmd"
