# Sourced by the other scripts. `load_dotenv [FILE]` exports each
# KEY=VALUE line of .env whose KEY the environment does not set already:
# the environment wins over .env, as it does in the services themselves
# (dotenvy never overrides). `AMQP_URL=amqp://127.0.0.1:5999 make run`
# therefore really uses port 5999.
# DOTENV_KEYS lists (space-separated, around spaces) the keys .env gave.
DOTENV_KEYS=" "
load_dotenv() {
  local file=${1:-.env} line key value
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[2]}
    value=${BASH_REMATCH[3]}
    if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
      value=${BASH_REMATCH[1]}
    fi
    [ -n "${!key+set}" ] && continue
    export "$key=$value"
    DOTENV_KEYS+="$key "
  done <"$file"
}

# Where variable $1's value came from, as the services read it: the
# environment, .env (after load_dotenv), or the service's default.
origin() {
  if [[ $DOTENV_KEYS == *" $1 "* ]]; then
    echo "from .env"
  elif [ -n "${!1+set}" ]; then
    echo "from the environment"
  else
    echo "the default"
  fi
}

# Whether host $1 is this machine: the loopback, or one of its own names
# or addresses (a service to start here, not somewhere else).
is_this_machine() {
  local host=${1#[}
  host=${host%]}
  case $host in
    localhost | 127.* | ::1 | 0.0.0.0 | '') return 0 ;;
  esac
  [ "$host" = "$(hostname 2>/dev/null)" ] && return 0
  [ "$host" = "$(hostname -f 2>/dev/null)" ] && return 0
  local address
  for address in $(hostname -I 2>/dev/null); do
    [ "$host" = "$address" ] && return 0
  done
  return 1
}

# host and port of a URL like scheme://user:pw@host:port/path; $2 is the
# port when the URL names none.
endpoint() {
  local rest=${1#*://}
  rest=${rest#*@}
  rest=${rest%%/*}
  local host=${rest%%:*} port=${rest##*:}
  [ "$port" = "$rest" ] && port=$2
  echo "$host $port"
}

# Whether something accepts TCP connections at host $1, port $2.
reachable() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}
