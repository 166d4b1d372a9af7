#!/usr/bin/env bash
# mailroom local stack: Kafka (KRaft, from Maven jars), PostgreSQL, Dovecot IMAP, SMTP sink,
# offline Groq-compatible LLM. Development and tests only; everything listens on 127.0.0.1.
#
#   deploy/local/stack.sh start|stop|status|reset [kafka|postgres|imap|smtp|llm ...]
#   deploy/local/stack.sh browser   install Debian's chromium for the browser tests if missing
#
# State lives in <repo>/.stack (git-ignored; override with MAILROOM_STACK_DIR):
#   .stack/run/<component>.pid   pid recorded at start; stop kills only that pid
#   .stack/logs/<component>.log  server output (printed on start failures)
#   .stack/kafka/{libs,data,...} .stack/postgres/data  .stack/imap/{mail,tls,...}  .stack/smtp/outbox
# reset = stop + delete the component's state (the downloaded Kafka jars are kept).
#
# Kafka start-up, measured on the dev box (Debian 12, 2 vCPU, OpenJDK 17, Kafka 4.0.2,
# -Xms256m -Xmx512m, G1; "ready" = aiokafka metadata round trip, timed from the java launch):
#   first start, quiet machine:           ready in 2.1-3.3 s, RSS 310-385 MiB
#   first start, busy machine (load 5):   ready in 5.6-6.5 s, RSS 312-316 MiB
#   restart (stop+start), busy machine:   ready in 5.8-8.9 s, RSS 306-326 MiB (~2 s of it is
#                                         broker.session.timeout.ms, see server.properties)
# `start` prints the figures for the current machine, e.g. "kafka ready in 3.3 s, rss 314 MiB",
# and appends them to .stack/kafka/start-times.txt.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd)
# The unprivileged PostgreSQL and mail users must be able to reach the state folder. A clone
# under a private home (e.g. /root is 0700) cannot give them that, so there the state lives
# in /var/tmp/mailroom-stack-<hash of the clone's path> and <repo>/.stack links to it.
if [ -z "${MAILROOM_STACK_DIR:-}" ] && [ ! -L "$REPO_ROOT/.stack" ] \
    && ! runuser -u nobody -- test -x "$REPO_ROOT" 2>/dev/null; then
    private_state="/var/tmp/mailroom-stack-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)"
    mkdir -p "$private_state"
    chmod 0755 "$private_state"
    if [ -d "$REPO_ROOT/.stack" ]; then
        # Already made by something else (e.g. the validators in .stack/tools): move it over.
        cp -a "$REPO_ROOT/.stack/." "$private_state/"
        rm -rf "$REPO_ROOT/.stack"
    fi
    ln -sfn "$private_state" "$REPO_ROOT/.stack"
fi
STATE=${MAILROOM_STACK_DIR:-$REPO_ROOT/.stack}
if [ -L "$STATE" ]; then STATE=$(readlink -f "$STATE"); fi
PY=${MAILROOM_STACK_PYTHON:-$REPO_ROOT/.venv/bin/python}
RUN_DIR=$STATE/run
LOG_DIR=$STATE/logs
ALL_COMPONENTS=(kafka postgres imap smtp llm)

HOST=127.0.0.1
# Fixed ports: mailroom code and tests use these. MAILROOM_STACK_PORT_SHIFT (default 0) moves
# all of them, only to run a second, throw-away stack (with its own MAILROOM_STACK_DIR) next
# to the main one, e.g. to check this script without stopping a stack others are using.
SHIFT=${MAILROOM_STACK_PORT_SHIFT:-0}
KAFKA_PORT=$((29092 + SHIFT))
KAFKA_CONTROLLER_PORT=$((29093 + SHIFT))
PG_PORT=$((25432 + SHIFT))
IMAP_PORT=$((21143 + SHIFT))
IMAPS_PORT=$((21993 + SHIFT))
SMTP_PORT=$((21025 + SHIFT))
LLM_PORT=$((28080 + SHIFT))

PG_OS_USER=mailroom-pg
MAIL_OS_USER=mailroom-mail
PG_SUPERUSER=mailroom
PG_PASSWORD=mailroom
PG_DATABASE=mailroom

START_TIMEOUT=${MAILROOM_STACK_START_TIMEOUT:-90}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}

# ------------------------------------------------------------------------------ helpers

say() { printf '%s\n' "$*"; }
err() { printf 'stack.sh: %s\n' "$*" >&2; }
die() {
    err "$*"
    exit 1
}

is_root() { [[ $(id -u) -eq 0 ]]; }

pidfile() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }
logfile() { printf '%s/%s.log' "$LOG_DIR" "$1"; }

port_of() {
    case $1 in
    kafka) echo "$KAFKA_PORT" ;;
    postgres) echo "$PG_PORT" ;;
    imap) echo "$IMAP_PORT" ;;
    smtp) echo "$SMTP_PORT" ;;
    llm) echo "$LLM_PORT" ;;
    esac
}

extra_ports_of() {
    case $1 in
    kafka) echo "$KAFKA_CONTROLLER_PORT" ;;
    imap) echo "$IMAPS_PORT" ;;
    *) : ;;
    esac
}

# Text that must appear in /proc/<pid>/cmdline, so a recycled pid is never mistaken for ours.
cmd_marker() {
    case $1 in
    kafka) echo "kafka.Kafka" ;;
    postgres) echo "postgres" ;;
    imap) echo "dovecot" ;;
    smtp) echo "mailroom_devstack.smtp_sink" ;;
    llm) echo "mailroom_devstack.llm_server" ;;
    esac
}

# Prints the recorded pid if that process is alive and is ours; fails otherwise.
running_pid() {
    local comp=$1 pf pid cmdline
    pf=$(pidfile "$comp")
    [[ -f $pf ]] || return 1
    pid=$(<"$pf")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    [[ $cmdline == *"$(cmd_marker "$comp")"* ]] || return 1
    echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

check_ports_free() {
    local comp=$1 p
    for p in $(port_of "$comp") $(extra_ports_of "$comp"); do
        if port_open "$p"; then
            die "$comp: port $HOST:$p is already in use by another process (not started by this script)"
        fi
    done
}

show_log_tail() {
    local comp=$1 lf
    lf=$(logfile "$comp")
    err "---- last 40 lines of $lf ----"
    tail -n 40 "$lf" >&2 2>/dev/null || true
    err "---- end of $lf ----"
}

# launch COMPONENT CMD...: start CMD detached (own session, stdin closed, output to the
# component log) and record its pid. setsid execs in place, so $! is the server's pid.
launch() {
    local comp=$1
    shift
    local lf
    lf=$(logfile "$comp")
    printf '\n==== %s start %s ====\n' "$comp" "$(date -Is)" >>"$lf"
    # 9>&- : the server must not inherit (and keep holding) the stack.sh lock
    setsid "$@" >>"$lf" 2>&1 </dev/null 9>&- &
    echo $! >"$(pidfile "$comp")"
}

# stop_pid COMPONENT SIGNAL TIMEOUT
stop_component_pid() {
    local comp=$1 sig=$2 timeout=$3 pid i
    if ! pid=$(running_pid "$comp"); then
        rm -f "$(pidfile "$comp")"
        return 0
    fi
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        [[ -d /proc/$pid ]] || break
        # a zombie child of ours would never go away by itself
        [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
        sleep 0.1
    done
    if [[ -d /proc/$pid ]] && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; then
        err "$comp (pid $pid) did not exit within ${timeout}s after SIG$sig; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            [[ -d /proc/$pid ]] || break
            sleep 0.1
        done
    fi
    rm -f "$(pidfile "$comp")"
    say "$comp stopped (pid $pid)"
}

need_python() {
    [[ -x $PY ]] || die "no Python at $PY: create the venv first (uv venv && uv pip install ...)"
}

py() { PYTHONPATH="$REPO_ROOT/deploy/local/src${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$@"; }

# wait_probe COMPONENT KIND PORT: block until the probe succeeds; on failure kill the
# component, print its log tail and exit.
wait_probe() {
    local comp=$1 kind=$2 port=$3 pid out rc=0
    pid=$(<"$(pidfile "$comp")")
    out=$(py -m mailroom_devstack.probe "$kind" --port "$port" --timeout "$START_TIMEOUT" --pid "$pid" 2>&1) || rc=$?
    if ((rc != 0)); then
        if ((rc == 2)); then
            err "$comp exited during start-up ($out)"
        else
            err "$comp not ready on $HOST:$port after ${START_TIMEOUT}s: $out"
        fi
        show_log_tail "$comp"
        stop_component_pid "$comp" TERM 15 >/dev/null
        exit 1
    fi
}

apt_install() {
    is_root || die "need root to apt-get install $*"
    local policy=/usr/sbin/policy-rc.d created_policy=0
    # Keep the packages' own system services (port 143/993/5432) from being started.
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created_policy=1
    fi
    say "installing $* (apt-get)"
    local rc=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
    } || rc=$?
    ((created_policy)) && rm -f "$policy"
    ((rc == 0)) || die "apt-get install $* failed"
}

ensure_system_user() {
    local user=$1
    id -u "$user" >/dev/null 2>&1 && return 0
    is_root || die "need root to create system user $user"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$user"
}

# The unprivileged server users must be able to reach STATE.
ensure_reachable_by() {
    local user=$1 dir=$2
    if ! runuser -u "$user" -- test -x "$dir"; then
        die "user $user cannot reach $dir (a parent directory is not world-searchable, e.g. /root is 0700); clone the repo elsewhere or set MAILROOM_STACK_DIR to a reachable directory"
    fi
}

rss_mib() { awk '/^VmRSS:/ {printf "%d", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# ------------------------------------------------------------------------------ kafka

KAFKA_DIR=$STATE/kafka
KAFKA_POM=$SCRIPT_DIR/kafka/pom.xml

kafka_fetch() {
    local libs=$KAFKA_DIR/libs stamp want
    stamp=$libs/.pom.sha256
    want=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
    if [[ -f $stamp && $(<"$stamp") == "$want" ]] && compgen -G "$libs/kafka_2.13-*.jar" >/dev/null; then
        return 0
    fi
    command -v mvn >/dev/null || die "kafka: mvn not found (apt-get install maven)"
    say "kafka: fetching broker jars with Maven into $libs"
    rm -rf "$libs"
    mkdir -p "$libs"
    mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies -DoutputDirectory="$libs" ||
        die "kafka: mvn dependency:copy-dependencies failed"
    echo "$want" >"$stamp"
}

kafka_write_config() {
    mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
    cat >"$KAFKA_DIR/server.properties" <<EOF
# generated by deploy/local/stack.sh on each start; edit the script, not this file
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
# Off, as in production: a topic exists only if the registry (create-topics) or Faust made it,
# so a typo or a missing topic fails loudly instead of creating a one-partition stray.
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.check.interval.ms=60000
# A restarted broker cannot register until its previous incarnation's session expires
# (DUPLICATE_BROKER_REGISTRATION); the 9 s default made every restart take ~12 s.
broker.session.timeout.ms=2000
broker.heartbeat.interval.ms=500
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
    cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
# per-topic/partition chatter (tests create many topics)
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.partition.name = kafka.cluster.Partition
logger.partition.level = WARN
logger.logmanager.name = kafka.log.LogManager
logger.logmanager.level = WARN
logger.unifiedlog.name = org.apache.kafka.storage.internals.log
logger.unifiedlog.level = WARN
logger.replication.name = org.apache.kafka.controller.ReplicationControlManager
logger.replication.level = WARN
EOF
}

kafka_java_opts() {
    # shellcheck disable=SC2206 # word splitting of the heap options is intended
    KAFKA_JAVA_OPTS=($KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20
        -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
        "-Dlog4j2.configurationFile=file:$KAFKA_DIR/log4j2.properties"
        "-Dkafka.logs.dir=$KAFKA_DIR/logs")
}

start_kafka() {
    command -v java >/dev/null || die "kafka: java not found (Java 17 required)"
    need_python
    kafka_fetch
    kafka_write_config
    kafka_java_opts
    local cp="$KAFKA_DIR/libs/*" lf
    lf=$(logfile kafka)
    if [[ ! -f $KAFKA_DIR/data/meta.properties ]]; then
        local cid
        cid=$(java "${KAFKA_JAVA_OPTS[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid 2>>"$lf" | tail -n 1)
        [[ -n $cid ]] || die "kafka: could not generate a cluster id (see $lf)"
        echo "$cid" >"$KAFKA_DIR/cluster.id"
        say "kafka: formatting $KAFKA_DIR/data (cluster id $cid)"
        java "${KAFKA_JAVA_OPTS[@]}" -cp "$cp" kafka.tools.StorageTool format --standalone \
            -t "$cid" -c "$KAFKA_DIR/server.properties" >>"$lf" 2>&1 ||
            {
                show_log_tail kafka
                die "kafka: storage format failed"
            }
    fi
    local t0 t1 pid secs rss
    t0=$(date +%s%N)
    launch kafka java "${KAFKA_JAVA_OPTS[@]}" -cp "$cp" kafka.Kafka "$KAFKA_DIR/server.properties"
    if py -c 'import aiokafka' 2>/dev/null; then
        wait_probe kafka kafka "$KAFKA_PORT" # metadata round trip with aiokafka
    else
        kafka_wait_log_and_port
    fi
    t1=$(date +%s%N)
    pid=$(<"$(pidfile kafka)")
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
    rss=$(rss_mib "$pid")
    echo "$(date -Is) ready_s=$secs rss_mib=$rss" >>"$KAFKA_DIR/start-times.txt"
    say "kafka ready in $secs s, rss $rss MiB (pid $pid, $HOST:$KAFKA_PORT, controller $KAFKA_CONTROLLER_PORT)"
}

# Fallback readiness when the venv has no aiokafka: the broker's log line plus the port.
kafka_wait_log_and_port() {
    local pid lf start i
    pid=$(<"$(pidfile kafka)")
    lf=$(logfile kafka)
    start=$(grep -an '^==== kafka start' "$lf" | tail -n 1 | cut -d: -f1)
    for ((i = 0; i < START_TIMEOUT * 5; i++)); do
        if tail -n "+$start" "$lf" | grep -q 'Kafka Server started' && port_open "$KAFKA_PORT"; then
            return 0
        fi
        if [[ ! -d /proc/$pid ]]; then
            err "kafka exited during start-up"
            show_log_tail kafka
            rm -f "$(pidfile kafka)"
            exit 1
        fi
        sleep 0.2
    done
    err "kafka not ready on $HOST:$KAFKA_PORT after ${START_TIMEOUT}s"
    show_log_tail kafka
    stop_component_pid kafka TERM 30 >/dev/null
    exit 1
}

stop_kafka() { stop_component_pid kafka TERM 60; }

# ------------------------------------------------------------------------------ postgres

PG_DIR=$STATE/postgres

pg_bin() {
    local d
    d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    [[ -n $d && -x $d/initdb ]] && echo "$d"
}

start_postgres() {
    local bin
    if ! bin=$(pg_bin); then
        apt_install postgresql
        bin=$(pg_bin) || die "postgres: initdb still missing after apt-get install postgresql"
    fi
    local os_user=$PG_OS_USER
    if is_root; then
        ensure_system_user "$PG_OS_USER"
    else
        os_user=$(id -un)
    fi
    mkdir -p "$PG_DIR"
    if is_root; then
        chown "$os_user:" "$PG_DIR"
        chmod 700 "$PG_DIR"
        ensure_reachable_by "$os_user" "$PG_DIR"
    fi
    as_pg() { if is_root; then runuser -u "$os_user" -- "$@"; else "$@"; fi; }
    if [[ ! -f $PG_DIR/data/PG_VERSION ]]; then
        say "postgres: initdb $PG_DIR/data (superuser $PG_SUPERUSER)"
        rm -rf "$PG_DIR/data"
        local pwfile=$PG_DIR/.pwfile
        (
            umask 077
            printf '%s\n' "$PG_PASSWORD" >"$pwfile"
        )
        is_root && chown "$os_user:" "$pwfile"
        as_pg "$bin/initdb" -D "$PG_DIR/data" -U "$PG_SUPERUSER" --pwfile="$pwfile" \
            --auth=scram-sha-256 -E UTF8 --no-locale >>"$(logfile postgres)" 2>&1 ||
            {
                rm -f "$pwfile"
                show_log_tail postgres
                die "postgres: initdb failed"
            }
        rm -f "$pwfile"
    fi
    local -a cmd=("$bin/postgres" -D "$PG_DIR/data"
        -c "listen_addresses=$HOST" -c "port=$PG_PORT" -c "unix_socket_directories="
        -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off
        -c log_min_messages=warning -c log_connections=off)
    if is_root; then
        launch postgres setpriv --reuid="$os_user" --regid="$os_user" --init-groups "${cmd[@]}"
    else
        launch postgres "${cmd[@]}"
    fi
    local pid i
    pid=$(<"$(pidfile postgres)")
    for ((i = 0; i < START_TIMEOUT * 5; i++)); do
        "$bin/pg_isready" -q -h "$HOST" -p "$PG_PORT" && break
        if [[ ! -d /proc/$pid ]]; then
            err "postgres exited during start-up"
            show_log_tail postgres
            rm -f "$(pidfile postgres)"
            exit 1
        fi
        sleep 0.2
    done
    if ! "$bin/pg_isready" -q -h "$HOST" -p "$PG_PORT"; then
        err "postgres not ready on $HOST:$PG_PORT after ${START_TIMEOUT}s"
        show_log_tail postgres
        stop_component_pid postgres INT 15 >/dev/null
        exit 1
    fi
    local exists
    exists=$(PGPASSWORD=$PG_PASSWORD "$bin/psql" -h "$HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" \
        -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")
    if [[ $exists != 1 ]]; then
        PGPASSWORD=$PG_PASSWORD "$bin/createdb" -h "$HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" "$PG_DATABASE"
        say "postgres: created database $PG_DATABASE"
    fi
    say "postgres ready (pid $pid, postgresql://$PG_SUPERUSER:$PG_PASSWORD@$HOST:$PG_PORT/$PG_DATABASE)"
}

# SIGINT = PostgreSQL "fast" shutdown (disconnects clients, then exits cleanly).
stop_postgres() { stop_component_pid postgres INT 60; }

# ------------------------------------------------------------------------------ imap (dovecot)

IMAP_DIR=$STATE/imap

imap_write_config() {
    local uid gid
    uid=$(id -u "$MAIL_OS_USER")
    gid=$(id -g "$MAIL_OS_USER")
    mkdir -p "$IMAP_DIR/tls" "$IMAP_DIR/mail" "$IMAP_DIR/state" "$IMAP_DIR/run"
    chown "$MAIL_OS_USER:$MAIL_OS_USER" "$IMAP_DIR/mail"
    chmod 750 "$IMAP_DIR/mail"
    if [[ ! -s $IMAP_DIR/tls/cert.pem || ! -s $IMAP_DIR/tls/key.pem ]]; then
        say "imap: generating a self-signed certificate in $IMAP_DIR/tls"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -keyout "$IMAP_DIR/tls/key.pem" -out "$IMAP_DIR/tls/cert.pem" >/dev/null 2>&1 ||
            die "imap: openssl could not create the certificate"
        chmod 600 "$IMAP_DIR/tls/key.pem"
    fi
    # passwd-file: user:{SCHEME}hash:uid:gid:gecos:home:shell:extra
    local users=$IMAP_DIR/users tmp
    tmp=$(mktemp "$IMAP_DIR/.users.XXXXXX")
    local spec user pass
    for spec in "shop@mailroom.test:shop-secret" "sales@mailroom.test:sales-secret"; do
        user=${spec%%:*}
        pass=${spec#*:}
        printf '%s:{SHA512-CRYPT}%s:%s:%s::%s::\n' "$user" "$(openssl passwd -6 "$pass")" \
            "$uid" "$gid" "$IMAP_DIR/mail/${user#*@}/${user%@*}" >>"$tmp"
    done
    chmod 640 "$tmp"
    chown "root:dovecot" "$tmp" 2>/dev/null || true
    mv -f "$tmp" "$users"
    cat >"$IMAP_DIR/dovecot.conf" <<EOF
# generated by deploy/local/stack.sh on each start; run with: dovecot -c $IMAP_DIR/dovecot.conf
instance_name = mailroom-dev
base_dir = $IMAP_DIR/run
state_dir = $IMAP_DIR/state
protocols = imap
listen = $HOST
shutdown_clients = yes
log_path = /dev/stderr
info_log_path = /dev/stderr
log_timestamp = "%Y-%m-%d %H:%M:%S "
auth_verbose = yes
auth_mechanisms = plain login
disable_plaintext_auth = no
ssl = yes
ssl_cert = <$IMAP_DIR/tls/cert.pem
ssl_key = <$IMAP_DIR/tls/key.pem
ssl_min_protocol = TLSv1.2
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = $uid
last_valid_uid = $uid
first_valid_gid = $gid
last_valid_gid = $gid
mail_location = maildir:~/Maildir
mail_fsync = never
# IDLE: push EXISTS within ~1 s of a new mail (inotify, else polling) and send
# "* OK Still here" keep-alives every 30 s (default 2 min).
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 30 secs
protocol imap {
  mail_max_userip_connections = 200
}
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u $users
}
userdb {
  driver = passwd-file
  args = username_format=%u $users
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
}
service imap-login {
  inet_listener imap {
    address = $HOST
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = $HOST
    port = $IMAPS_PORT
    ssl = yes
  }
}
EOF
}

start_imap() {
    is_root || die "imap: Dovecot needs root to start (it drops to $MAIL_OS_USER/dovenull)"
    need_python
    [[ -x /usr/sbin/dovecot ]] || apt_install dovecot-imapd
    [[ -x /usr/sbin/dovecot ]] || die "imap: /usr/sbin/dovecot still missing after apt-get install"
    command -v openssl >/dev/null || apt_install openssl
    id -u dovenull >/dev/null 2>&1 || die "imap: system user dovenull missing (reinstall dovecot-core)"
    ensure_system_user "$MAIL_OS_USER"
    mkdir -p "$IMAP_DIR"
    ensure_reachable_by "$MAIL_OS_USER" "$IMAP_DIR"
    imap_write_config
    /usr/sbin/dovecot -c "$IMAP_DIR/dovecot.conf" -n >/dev/null 2>>"$(logfile imap)" || {
        show_log_tail imap
        die "imap: dovecot rejected $IMAP_DIR/dovecot.conf"
    }
    launch imap /usr/sbin/dovecot -F -c "$IMAP_DIR/dovecot.conf"
    wait_probe imap imap "$IMAP_PORT"
    wait_probe imap imaps "$IMAPS_PORT"
    say "imap ready (pid $(<"$(pidfile imap)"), imap://$HOST:$IMAP_PORT STARTTLS, imaps://$HOST:$IMAPS_PORT; shop@mailroom.test / shop-secret)"
}

stop_imap() { stop_component_pid imap TERM 30; }

# ------------------------------------------------------------------------------ smtp sink, llm

start_smtp() {
    need_python
    mkdir -p "$STATE/smtp/outbox"
    launch smtp env PYTHONUNBUFFERED=1 PYTHONPATH="$REPO_ROOT/deploy/local/src" \
        "$PY" -m mailroom_devstack.smtp_sink --host "$HOST" --port "$SMTP_PORT" \
        --dir "$STATE/smtp/outbox" --faults "$STATE/smtp/faults.json"
    wait_probe smtp smtp "$SMTP_PORT"
    say "smtp sink ready (pid $(<"$(pidfile smtp)"), $HOST:$SMTP_PORT -> $STATE/smtp/outbox, faults $STATE/smtp/faults.json)"
}

stop_smtp() { stop_component_pid smtp TERM 15; }

start_llm() {
    need_python
    launch llm env PYTHONUNBUFFERED=1 PYTHONPATH="$REPO_ROOT/deploy/local/src" \
        "$PY" -m mailroom_devstack.llm_server --host "$HOST" --port "$LLM_PORT"
    wait_probe llm http "$LLM_PORT"
    say "llm ready (pid $(<"$(pidfile llm)"), http://$HOST:$LLM_PORT/openai/v1/chat/completions)"
}

stop_llm() { stop_component_pid llm TERM 15; }

# ------------------------------------------------------------------------------ browser

# The console's browser tests drive Debian's Chromium with Playwright for Python (never a
# browser download: `playwright install` is not used). Idempotent: nothing happens when
# /usr/bin/chromium runs; `make test` calls this before the tests.
CHROMIUM=/usr/bin/chromium
ensure_browser() {
    if [[ -x $CHROMIUM ]] && "$CHROMIUM" --version >/dev/null 2>&1; then
        return 0
    fi
    is_root || die "browser: $CHROMIUM is missing and installing it needs root: run 'sudo apt-get install chromium' (the console's browser tests need it)"
    apt_install chromium
    [[ -x $CHROMIUM ]] || die "browser: $CHROMIUM still missing after apt-get install chromium"
    say "browser: $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
}

# ------------------------------------------------------------------------------ commands

reset_state() {
    case $1 in
    kafka) rm -rf "$KAFKA_DIR/data" "$KAFKA_DIR/logs" "$KAFKA_DIR/cluster.id" \
        "$KAFKA_DIR/server.properties" "$KAFKA_DIR/log4j2.properties" ;;
    postgres) rm -rf "$PG_DIR" ;;
    imap) rm -rf "$IMAP_DIR" ;;
    smtp) rm -rf "$STATE/smtp" ;;
    llm) : ;;
    esac
    rm -f "$(logfile "$1")"
}

do_start() {
    local comp pid
    comp=$1
    if pid=$(running_pid "$comp"); then
        say "$comp already running (pid $pid)"
        return 0
    fi
    rm -f "$(pidfile "$comp")"
    check_ports_free "$comp"
    "start_$comp"
}

status_line() {
    local comp=$1 pid port p state=up note=""
    port=$(port_of "$comp")
    if pid=$(running_pid "$comp"); then
        for p in $port $(extra_ports_of "$comp"); do
            if ! port_open "$p"; then
                state=down
                note=" (process alive but port $p not answering)"
            fi
        done
    else
        state=down
        pid=-
        if port_open "$port"; then
            note=" (port in use by a process not started by stack.sh)"
        fi
    fi
    local ports=$port
    [[ -n $(extra_ports_of "$comp") ]] && ports="$port,$(extra_ports_of "$comp")"
    printf '%-9s %-5s %s:%-12s pid %s%s\n' "$comp" "$state" "$HOST" "$ports" "$pid" "$note"
    [[ $state == up ]]
}

usage() {
    cat <<EOF
usage: $0 start|stop|status|reset [component...]
components: ${ALL_COMPONENTS[*]} (default: all)
  start   start what is not running (idempotent), fetching packages/jars if missing
  stop    stop what this script started (recorded pids only)
  status  one line per component; exit status 1 if any is down
  reset   stop and delete the component's state under $STATE
usage: $0 browser
  browser install Debian's chromium ($CHROMIUM) for the browser tests when missing
EOF
}

main() {
    local action=${1:-}
    [[ -n $action ]] || {
        usage
        exit 2
    }
    shift
    if [[ $action == browser ]]; then
        ensure_browser
        return 0
    fi
    local -a comps=("$@")
    ((${#comps[@]})) || comps=("${ALL_COMPONENTS[@]}")
    local c known
    for c in "${comps[@]}"; do
        known=0
        for k in "${ALL_COMPONENTS[@]}"; do [[ $c == "$k" ]] && known=1; done
        ((known)) || die "unknown component '$c' (one of: ${ALL_COMPONENTS[*]})"
    done
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    case $action in
    start | stop | reset)
        # one stack.sh at a time per state directory
        exec 9>"$RUN_DIR/stack.lock"
        flock -w 120 9 || die "another stack.sh is still running after 120 s (lock $RUN_DIR/stack.lock)"
        ;;
    esac
    case $action in
    start)
        for c in "${comps[@]}"; do do_start "$c"; done
        ;;
    stop)
        for c in "${comps[@]}"; do "stop_$c"; done
        ;;
    reset)
        for c in "${comps[@]}"; do
            "stop_$c"
            reset_state "$c"
            say "$c state deleted"
        done
        ;;
    status)
        local rc=0
        for c in "${comps[@]}"; do status_line "$c" || rc=1; done
        exit "$rc"
        ;;
    -h | --help | help)
        usage
        ;;
    *)
        usage
        exit 2
        ;;
    esac
}

main "$@"
