# Sourced by the scripts: wait for an event instead of assuming it has happened.
#
# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds (returns 0) or
# SECONDS have passed (returns 1). Every check of something another process does
# asynchronously (a log line, a datagram recorded, a port open, a counter dropping) goes
# through it: the other process may not have got there yet when the check runs.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.1
    done
}

# port_listening PORT: true when a TCP socket listens on PORT (IPv4), from /proc/net/tcp
# (state 0A is LISTEN), without connecting to it.
port_listening() {
    grep -Eq "^ *[0-9]+: [0-9A-F]+:$(printf '%04X' "$1") [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp
}
