# Like the official image: redis-server runs as the redis user and accepts
# connections from other containers (protected mode off; the network is private).
if [ "$1" = redis-server ]; then
    shift
    exec setpriv --reuid=redis --regid=redis --init-groups redis-server --bind 0.0.0.0 --protected-mode no "$@"
fi
exec "$@"
