#!/bin/sh
# agentbox's test tool for the tool container contract v1 (docs/tool-contract.md), in busybox sh.
# `nc -ll -p 8080 -e /bin/tool` runs it once per connection, with the connection as stdin and stdout.
# GET /health answers 200. POST /execute answers {"received": <the request body as it arrived>}; the input's
# "mode" picks another behaviour: reject or refresh the credentials, fail, sleep, answer text or a huge body.
cr=$(printf '\r')
read -r method path _
method=${method%"$cr"}
path=${path%"$cr"}
length=0
while read -r line; do
  line=${line%"$cr"}
  [ -z "$line" ] && break
  case "$line" in
    [Cc]ontent-[Ll]ength:*) length=${line#*:}; length=${length# } ;;
  esac
done

answer() { # answer "STATUS TEXT" BODY
  printf 'HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
    "$1" "$(printf '%s' "$2" | wc -c)" "$2"
}

case "$method $path" in
  "GET /health") answer "200 OK" '{"status":"ok"}' ;;
  "POST /execute")
    body=$(head -c "$length")
    case "$body" in
      *'"mode":"reject"'*)
        answer "200 OK" "{\"received\":$body,\"agentbox\":{\"credentials\":\"rejected\",\"reason\":\"the test service refused the key\"}}" ;;
      *'"mode":"refresh"'*)
        answer "200 OK" "{\"received\":$body,\"agentbox\":{\"credentials\":\"refreshed\",\"refreshed\":{\"api_key\":\"sk-refreshed-by-the-tool\"}}}" ;;
      *'"mode":"fail"'*) answer "500 Internal Server Error" '{"error":"failed on purpose"}' ;;
      *'"mode":"sleep"'*) sleep 30; answer "200 OK" '{"slept":30}' ;;
      *'"mode":"text"'*) printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nnot json' ;;
      *'"mode":"huge"'*)
        printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n'
        head -c 9000000 /dev/zero | tr '\0' 'a' ;;
      *) answer "200 OK" "{\"received\":$body}" ;;
    esac ;;
  *) answer "404 Not Found" '{"error":"no such route"}' ;;
esac
