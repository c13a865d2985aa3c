/*
 * A numeric IP address and a port as a socket address: the one conversion
 * the UDP sockets, the TURN server, its tests and fuzz targets share.
 */
#ifndef HX_NET_ADDR_H
#define HX_NET_ADDR_H

#include <sys/socket.h>

/**
 * ip (numeric IPv4 or IPv6, no brackets) and port into *ss, its length in
 * *len (may be NULL). 0, or -EINVAL when ip is not a numeric address.
 */
int hx_addr_from_ip(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len);

#endif
