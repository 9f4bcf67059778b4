#define _GNU_SOURCE
// Minimal keep-alive HTTP responder (epoll, one thread): the floor of server CPU per request on this machine.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <fcntl.h>

int main(int argc, char** argv) {
  int port = atoi(argv[1]);
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(0x7f000001);
  if (bind(ls, (void*)&a, sizeof a) || listen(ls, 64)) { perror("bind"); return 1; }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  const char* body = "{\"id\":\"x\"}";
  char resp[256]; int rl = snprintf(resp, sizeof resp, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
  char buf[65536];
  for (;;) {
    struct epoll_event evs[16]; int n = epoll_wait(ep, evs, 16, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls) { int c = accept4(ls, 0, 0, SOCK_NONBLOCK); setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event e = {.events = EPOLLIN, .data.fd = c}; epoll_ctl(ep, EPOLL_CTL_ADD, c, &e); continue; }
      int r = read(fd, buf, sizeof buf);
      if (r <= 0) { close(fd); continue; }
      // one response per request: count header ends
      int reqs = 0; for (int k = 0; k + 3 < r; k++) if (!memcmp(buf + k, "\r\n\r\n", 4)) reqs++;
      if (!reqs) reqs = 0; // body-only segment
      for (int k = 0; k < reqs; k++) write(fd, resp, rl);
    }
  }
}
