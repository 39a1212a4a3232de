# Sourced by the other scripts. `load_dotenv [FILE]` exports each
# KEY=VALUE line of .env whose KEY the environment does not set already:
# the environment wins over .env, as it does in the services themselves
# (dotenvy never overrides). `AMQP_URL=amqp://127.0.0.1:5999 make run`
# therefore really uses port 5999.
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
  done <"$file"
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
