# Shared by the scripts: make sure what the service needs on this machine is
# there, installing it when absent and doing nothing when it is already set
# up. Sourced, not run.
#
# - PostgreSQL: Debian's package, its cluster configured to trust the
#   `postgres` user on loopback, started when down.
# - Apache Kafka: the jars of scripts/kafka/pom.xml, resolved from Maven
#   Central once into $ORDER_SERVICE_CACHE; a KRaft broker (combined
#   broker and controller) started from them with its data on disk.
# - The console tools: Debian's kcat, curl, protoc; the Kafka console tools
#   from the same jars (scripts/kafka/bin).

ORDER_SERVICE_CACHE="${ORDER_SERVICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/order-service}"
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$SCRIPTS_DIR/kafka/pom.xml")"
KAFKA_LIBS="$ORDER_SERVICE_CACHE/kafka-$KAFKA_VERSION/libs"

log() { printf '==> [%4ss] %s\n' "$SECONDS" "$*" >&2; }

# Runs a command as root: directly when we are, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PACKAGE...: installs Debian packages, refreshing the package
# lists only when the first attempt fails (a fresh image may have none).
apt_install() {
    log "installing $* (apt)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 || {
        as_root apt-get update -q >/dev/null &&
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
    }
}

# PostgreSQL on 127.0.0.1:5432 from Debian's packages: installed when
# absent, the `postgres` user trusted on loopback (the scripts and the tests
# connect as postgres@127.0.0.1 without a password), started when down.
ensure_postgres() {
    if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null &&
        psql -h 127.0.0.1 -U postgres -d postgres -w -tAc 'SELECT 1' >/dev/null 2>&1; then
        return
    fi
    if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
        apt_install postgresql postgresql-contrib
    fi
    local version conf
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    conf="/etc/postgresql/$version/main"
    if ! grep -q '^# order-service: loopback trust' "$conf/pg_hba.conf"; then
        log "configuring PostgreSQL $version: trust postgres@127.0.0.1 (loopback only)"
        as_root sh -c "{ printf '%s\n' '# order-service: loopback trust for the scripts and tests' \
            'host all postgres 127.0.0.1/32 trust' 'host all postgres ::1/128 trust'; \
            cat '$conf/pg_hba.conf'; } > '$conf/pg_hba.conf.new' && mv '$conf/pg_hba.conf.new' '$conf/pg_hba.conf' && \
            chown postgres:postgres '$conf/pg_hba.conf' && chmod 640 '$conf/pg_hba.conf'"
        # Tests run several at once, each with a database and a pool of its own.
        as_root sh -c "printf '%s\n' 'max_connections = 300' \
            > '$conf/conf.d/order-service.conf'"
        # A cluster already running reads pg_hba.conf again on reload; the
        # settings above need a restart.
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main stop >/dev/null 2>&1 || true
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 30); do
        pg_isready -h 127.0.0.1 -p 5432 -q && return
        sleep 1
    done
    log "PostgreSQL did not come up on 127.0.0.1:5432 (see /var/log/postgresql/)"
    return 1
}

# PostgreSQL's pg_stat_statements loaded (a restart the first time: it
# must be in shared_preload_libraries) and its view in database postgres.
ensure_pg_stat_statements() {
    ensure_postgres
    local loaded version
    loaded=$(psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SHOW shared_preload_libraries')
    if [[ "$loaded" != *pg_stat_statements* ]]; then
        version=$(psql -h 127.0.0.1 -U postgres -d postgres -tAc \
            "SELECT current_setting('server_version_num')::int / 10000")
        log "loading pg_stat_statements into PostgreSQL $version (a restart; it stays loaded)"
        as_root sh -c "echo \"shared_preload_libraries = '${loaded:+$loaded,}pg_stat_statements'\" \
            >> '/etc/postgresql/$version/main/conf.d/order-service.conf'"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main restart
        for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
    fi
    psql -h 127.0.0.1 -U postgres -d postgres -q -c 'SET client_min_messages = warning' \
        -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
}

# ensure_service_database NAME: the service's own login role,
# `order_service`, owning database NAME and everything in it
# (deploy/postgres-setup.sh, which compose runs too), its password made
# once into .run/pg-password. Sets SERVICE_DATABASE_URL to connect as it.
ensure_service_database() {
    local name=$1 password
    mkdir -p .run
    if [ ! -s .run/pg-password ]; then
        (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > .run/pg-password)
    fi
    password=$(cat .run/pg-password)
    PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres ORDER_SERVICE_DB="$name" \
        ORDER_SERVICE_DB_PASSWORD="$password" sh "$SCRIPTS_DIR/../deploy/postgres-setup.sh"
    SERVICE_DATABASE_URL="postgres://order_service:$password@127.0.0.1:5432/$name"
}

# Apache Kafka's jars (broker and tools), resolved once from Maven Central.
ensure_kafka() {
    if [ -f "$KAFKA_LIBS/.complete" ]; then return; fi
    command -v java >/dev/null || apt_install openjdk-17-jre-headless
    command -v mvn >/dev/null || apt_install maven
    log "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $KAFKA_LIBS (once, about a minute)"
    rm -rf "$KAFKA_LIBS"
    mvn -q -B -Dstyle.color=never -f "$SCRIPTS_DIR/kafka/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
    touch "$KAFKA_LIBS/.complete"
}

# start_kafka DIR PORT [secure]: runs a single KRaft broker (broker and
# controller in one process) on 127.0.0.1:PORT (KAFKA_LISTEN_HOST:PORT when
# set: the network-partition test's veth address), its controller on a free
# port, its data in DIR/data (formatted on first use, kept afterwards), its
# log in DIR/broker.log. Waits until it answers; sets KAFKA_PID.
# With `secure` (the tests), also SASL_SSL, SASL_PLAINTEXT and SSL (client
# certificate required) listeners on free ports, a CA and certificates made
# in DIR/tls, and a SCRAM-SHA-512/256 and PLAIN user; exports
# TEST_KAFKA_{SASL_SSL,SASL_PLAINTEXT,SSL}_BOOTSTRAP_SERVERS,
# TEST_KAFKA_TLS_DIR, TEST_KAFKA_USER and TEST_KAFKA_PASSWORD.
start_kafka() {
    local dir=$1 port=$2 secure=${3:-} controller_port host=${KAFKA_LISTEN_HOST:-127.0.0.1}
    local listeners advertised protocols extra="" format_args=()
    mkdir -p "$dir/data"
    dir="$(cd "$dir" && pwd)"
    controller_port=$(free_port)
    listeners="PLAINTEXT://$host:$port,CONTROLLER://127.0.0.1:$controller_port"
    advertised="PLAINTEXT://$host:$port"
    protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    if [ "$secure" = secure ]; then
        make_test_certificates "$dir/tls"
        local sasl_ssl sasl_plain ssl user=order-service password
        password="test-secret-$RANDOM$RANDOM"
        sasl_ssl=$(free_port) sasl_plain=$(free_port) ssl=$(free_port)
        listeners="$listeners,SASL_SSL://127.0.0.1:$sasl_ssl,SASL_PLAINTEXT://127.0.0.1:$sasl_plain,SSL://127.0.0.1:$ssl"
        advertised="$advertised,SASL_SSL://127.0.0.1:$sasl_ssl,SASL_PLAINTEXT://127.0.0.1:$sasl_plain,SSL://127.0.0.1:$ssl"
        protocols="$protocols,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL"
        local scram='org.apache.kafka.common.security.scram.ScramLoginModule required;'
        local plain="org.apache.kafka.common.security.plain.PlainLoginModule required user_$user=\"$password\";"
        extra="sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$scram
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=$scram
listener.name.sasl_ssl.plain.sasl.jaas.config=$plain
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=$scram
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=$scram
listener.name.sasl_plaintext.plain.sasl.jaas.config=$plain
ssl.keystore.type=PEM
ssl.keystore.location=$dir/tls/server.pem
ssl.truststore.type=PEM
ssl.truststore.location=$dir/tls/ca.pem
listener.name.ssl.ssl.client.auth=required"
        format_args=(--add-scram "SCRAM-SHA-512=[name=$user,password=$password]"
            --add-scram "SCRAM-SHA-256=[name=$user,password=$password]")
        export TEST_KAFKA_SASL_SSL_BOOTSTRAP_SERVERS="127.0.0.1:$sasl_ssl"
        export TEST_KAFKA_SASL_PLAINTEXT_BOOTSTRAP_SERVERS="127.0.0.1:$sasl_plain"
        export TEST_KAFKA_SSL_BOOTSTRAP_SERVERS="127.0.0.1:$ssl"
        export TEST_KAFKA_TLS_DIR="$dir/tls"
        export TEST_KAFKA_USER="$user" TEST_KAFKA_PASSWORD="$password"
    fi
    cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$dir/data
# One broker: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# A group forms as soon as its first member joins, not 3 s later.
group.initial.rebalance.delay.ms=0
# Kafka 4's consumer protocol (KAFKA_GROUP_PROTOCOL=consumer) takes its
# session and heartbeat from the broker: the same 10 s session as the
# service's classic default (Kafka's is 45 s), a heartbeat a second (5 s),
# so a moved partition waits about as long under either protocol.
group.consumer.session.timeout.ms=10000
group.consumer.min.session.timeout.ms=6000
group.consumer.heartbeat.interval.ms=1000
group.consumer.min.heartbeat.interval.ms=1000
# Topics are made on purpose (order-service creates its own), never by a
# typo in a consumer.
auto.create.topics.enable=false
num.partitions=6
$extra
EOF
    if [ ! -f "$dir/data/meta.properties" ]; then
        log "formatting the Kafka log directory $dir/data"
        kafka_java kafka.tools.StorageTool format --cluster-id "$(kafka_java kafka.tools.StorageTool random-uuid)" \
            --config "$dir/server.properties" "${format_args[@]}" >/dev/null
    fi
    log "starting Apache Kafka $KAFKA_VERSION on $host:$port (log: $dir/broker.log)"
    # shellcheck disable=SC2086
    java ${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$SCRIPTS_DIR/kafka/log4j2-broker.properties" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" >"$dir/broker.log" 2>&1 &
    KAFKA_PID=$!
    for _ in $(seq 1 120); do
        if ! kill -0 "$KAFKA_PID" 2>/dev/null; then
            log "Kafka exited at start; the end of $dir/broker.log:"
            tail -n 20 "$dir/broker.log" >&2
            return 1
        fi
        if kcat -b "$host:$port" -L -m 2 >/dev/null 2>&1; then return; fi
        sleep 0.5
    done
    log "Kafka did not answer on $host:$port within 60 s, see $dir/broker.log"
    return 1
}

# make_test_certificates DIR: a CA (ca.pem), the broker's certificate for
# 127.0.0.1 with its key (server.pem), a client certificate (client.pem,
# client.key), and a CA the broker does not use (other-ca.pem).
make_test_certificates() {
    local dir=$1
    command -v openssl >/dev/null || apt_install openssl
    mkdir -p "$dir"
    (
        cd "$dir"
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=order-service test CA" \
            -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=some other CA" \
            -keyout other-ca.key -out other-ca.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
            -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
            -extfile server.ext -out server.crt 2>/dev/null
        cat server.key server.crt >server.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=order-service client" \
            -keyout client.key -out client.csr 2>/dev/null
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
            -out client.pem 2>/dev/null
    )
}

stop_kafka() {
    if [ -n "${KAFKA_PID:-}" ] && kill -0 "$KAFKA_PID" 2>/dev/null; then
        log "stopping Kafka"
        kill "$KAFKA_PID" 2>/dev/null || true
        wait "$KAFKA_PID" 2>/dev/null || true
    fi
}

# kafka_java CLASS ARGS...: one of Kafka's command-line classes, quiet.
kafka_java() {
    java -Dlog4j2.configurationFile="$SCRIPTS_DIR/kafka/log4j2-tools.properties" \
        -cp "$KAFKA_LIBS/*" "$@"
}

# What the build needs besides Rust: librdkafka is compiled with TLS and
# SASL against the system's OpenSSL, diesel links libpq.
ensure_build_deps() {
    local missing=() package
    for package in build-essential pkg-config libssl-dev libpq-dev zlib1g-dev; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# What the README's walkthrough uses besides the service: curl, protoc (the
# protobuf text path), Debian's kcat, and the Kafka console tools.
ensure_console_tools() {
    local missing=()
    command -v curl >/dev/null || missing+=(curl)
    command -v protoc >/dev/null || missing+=(protobuf-compiler)
    command -v kcat >/dev/null || missing+=(kcat)
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
    ensure_kafka
}

# schemathesis (PyPI), pinned, in a virtualenv of its own under the cache;
# exports SCHEMATHESIS, the executable the OpenAPI test runs.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
    local venv="$ORDER_SERVICE_CACHE/schemathesis-$SCHEMATHESIS_VERSION"
    if [ ! -x "$venv/bin/schemathesis" ]; then
        log "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $venv"
        python3 -m venv "$venv" 2>/dev/null || {
            apt_install python3-venv
            python3 -m venv "$venv"
        }
        "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    fi
    export SCHEMATHESIS="$venv/bin/schemathesis"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The previous release's binary, for the rolling-upgrade test: built from
# the commit in scripts/previous-release, in this target directory (its
# dependencies are this build's: only the service itself compiles), then
# copied aside; the caller builds the current one after it. Sets
# PREVIOUS_RELEASE_BIN.
build_previous_release() {
    local commit dir=target/previous-release
    commit=$(cat scripts/previous-release)
    if [ "$(cat "$dir/built" 2>/dev/null)" != "$commit" ]; then
        if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
            log "ERROR: commit $commit (scripts/previous-release) is not in this clone; the upgrade test needs the history (git fetch --unshallow)"
            exit 1
        fi
        log "building the previous release ${commit:0:12} for the upgrade test"
        rm -rf "$dir"
        mkdir -p "$dir/src"
        git archive "$commit" | tar -x -C "$dir/src"
        cargo build --quiet --manifest-path "$dir/src/Cargo.toml" --target-dir target --bin order-service
        cp target/debug/order-service "$dir/order-service"
        echo "$commit" >"$dir/built"
    fi
    export PREVIOUS_RELEASE_BIN="$PWD/$dir/order-service"
}
