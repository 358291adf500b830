# Shared by scripts/run and scripts/test: make sure what the service needs on
# this machine is there. Sourced, not run.

CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
TANSU="$CARGO_BIN/tansu"

log() { printf '==> %s\n' "$*" >&2; }

# PostgreSQL on 127.0.0.1:5432, started through the machine's cluster if down.
ensure_postgres() {
    if pg_isready -h 127.0.0.1 -p 5432 -q; then return; fi
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    for _ in $(seq 1 30); do
        pg_isready -h 127.0.0.1 -p 5432 -q && return
        sleep 1
    done
    log "PostgreSQL did not come up on 127.0.0.1:5432"
    return 1
}

# ensure_database NAME: creates the database when missing.
ensure_database() {
    local name=$1
    if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        log "creating database $name"
        psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE \"$name\""
    fi
}

# The tansu broker (Kafka protocol), installed once into ~/.cargo/bin.
ensure_tansu() {
    if [ -x "$TANSU" ]; then return; fi
    log "installing the tansu broker (once, about 8 minutes on 2 cores)"
    cargo install tansu --locked --features postgres,dynostore
}

# What the README's walkthrough uses besides the service: curl, protoc (the
# protobuf text path) and Python's confluent-kafka (scripts/kcat, a kcat for
# the local broker).
ensure_console_tools() {
    local missing=()
    command -v curl >/dev/null || missing+=(curl)
    command -v protoc >/dev/null || missing+=(protobuf-compiler)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]} (apt)"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
            { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "${missing[@]}" >/dev/null; }
    fi
    if ! python3 -c 'import confluent_kafka' 2>/dev/null; then
        log "installing confluent-kafka (pip)"
        python3 -m pip install -q --disable-pip-version-check confluent-kafka 2>&1 | grep -v "as the 'root' user" || true
        python3 -c 'import confluent_kafka'
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_tansu PORT LOGFILE: starts an in-memory broker in the background,
# waits until it accepts connections, and sets TANSU_PID.
start_tansu() {
    local port=$1 logfile=$2
    # tansu reads these from the environment too; ours are given as flags.
    env -u LISTENER_URL -u ADVERTISED_LISTENER_URL -u STORAGE_ENGINE -u CLUSTER_ID \
        "$TANSU" broker --storage-engine memory://tansu/ \
        --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" >"$logfile" 2>&1 &
    TANSU_PID=$!
    for _ in $(seq 1 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
        sleep 0.1
    done
    log "tansu did not start, see $logfile"
    return 1
}

stop_tansu() {
    if [ -n "${TANSU_PID:-}" ]; then
        kill "$TANSU_PID" 2>/dev/null || true
        wait "$TANSU_PID" 2>/dev/null || true
    fi
}
