#!/bin/sh
# agentbox's test tool that is itself an MCP server (catalog protocol: mcp), Streamable HTTP in busybox sh.
# `nc -ll -p 8080 -e /bin/tool` runs it once per connection. POST /mcp answers initialize (with a session id),
# notifications/initialized (202), tools/list and tools/call; a call's structured answer holds the Authorization
# header it came with and the request as it arrived, so a test sees the credentials travelled in the request.
cr=$(printf '\r')
read -r method path _
method=${method%"$cr"}
path=${path%"$cr"}
length=0
authorization=""
while read -r line; do
  line=${line%"$cr"}
  [ -z "$line" ] && break
  case "$line" in
    [Cc]ontent-[Ll]ength:*) length=${line#*:}; length=${length# } ;;
    [Aa]uthorization:*) authorization=${line#*:}; authorization=${authorization# } ;;
  esac
done

answer() { # answer "STATUS TEXT" BODY [EXTRA HEADER LINE]
  printf 'HTTP/1.1 %s\r\nContent-Type: application/json\r\n%sContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
    "$1" "${3:+$3$cr
}" "$(printf '%s' "$2" | wc -c)" "$2"
}

[ "$path" = /mcp ] || { answer "404 Not Found" '{"error":"not here"}'; exit 0; }
case "$method" in
  DELETE) answer "200 OK" '{}'; exit 0 ;;
  POST) ;;
  *) answer "405 Method Not Allowed" '{"error":"POST only"}'; exit 0 ;;
esac
body=$(head -c "$length")
id=$(printf '%s' "$body" | sed -n 's/.*"id":[ ]*\([0-9][0-9]*\).*/\1/p')
case "$body" in
  *'"method":"initialize"'*)
    answer "200 OK" "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"mcp-test-tool\",\"version\":\"1\"}}}" \
      "Mcp-Session-Id: test-session-1" ;;
  *'"method":"notifications/initialized"'*) printf 'HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' ;;
  *'"method":"tools/list"'*)
    answer "200 OK" "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{\"tools\":[{\"name\":\"lookup\",\"inputSchema\":{\"type\":\"object\"}}]}}" ;;
  *'"method":"tools/call"'*)
    answer "200 OK" "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"looked up\"}],\"structuredContent\":{\"authorization\":\"$authorization\",\"received\":$body}}}" ;;
  *) answer "200 OK" "{\"jsonrpc\":\"2.0\",\"id\":$id,\"error\":{\"code\":-32601,\"message\":\"unknown method\"}}" ;;
esac
