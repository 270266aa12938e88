#!/usr/bin/env bash
# Block until every target answers, then exit 0; exit 1 after WAIT_TIMEOUT_SECONDS.
#   host:port                         a TCP connection is accepted
#   http://host:port/path             an HTTP response with status 2xx or 3xx
#   postgresql://user@host:port/db    `SELECT 1` succeeds as that user (password from PGPASSWORD)
# Each attempt is bounded by WAIT_ATTEMPT_SECONDS so a black-holed address cannot stall the loop.
set -uo pipefail

attempt_seconds=${WAIT_ATTEMPT_SECONDS:-5}

probe() {
  local kind=$1 host=$2 port=$3 path=${4:-/} status
  exec 3<>"/dev/tcp/$host/$port" || return 1
  [[ $kind == tcp ]] && return 0
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3
  IFS=' ' read -r _ status _ <&3 || return 1
  [[ $status =~ ^[23][0-9][0-9]$ ]]
}

if [[ ${1:-} == --probe ]]; then
  shift
  probe "$@" 2>/dev/null
  exit
fi

timeout_seconds=${WAIT_TIMEOUT_SECONDS:-600}
interval_seconds=${WAIT_INTERVAL_SECONDS:-2}
deadline=$((SECONDS + timeout_seconds))

for target in "$@"; do
  case $target in
    http://*)
      rest=${target#http://}
      hostport=${rest%%/*}
      path=/
      [[ $rest == */* ]] && path=/${rest#*/}
      host=${hostport%%:*}
      port=80
      [[ $hostport == *:* ]] && port=${hostport##*:}
      check=(timeout "$attempt_seconds" bash "$0" --probe http "$host" "$port" "$path")
      ;;
    postgresql://*)
      check=(timeout "$attempt_seconds" psql -w "$target" -XtAq -c "SELECT 1")
      ;;
    *:*)
      check=(timeout "$attempt_seconds" bash "$0" --probe tcp "${target%:*}" "${target##*:}")
      ;;
    *)
      echo "wait-for: cannot parse target '$target'; use host:port, http://host:port/path or postgresql://user@host:port/db" >&2
      exit 2
      ;;
  esac
  until "${check[@]}" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then
      echo "wait-for: $target did not answer within ${timeout_seconds}s" >&2
      exit 1
    fi
    sleep "$interval_seconds"
  done
  echo "wait-for: $target is ready"
done
