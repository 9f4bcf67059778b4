// systemd's service notifications (sd_notify(3)) without libsystemd: one
// datagram to the socket systemd names in $NOTIFY_SOCKET, for units of
// Type=notify (conf/jobd.service, conf/jobd-worker@.service). Outside
// systemd (no NOTIFY_SOCKET) every call does nothing.
#pragma once

#include <cstdint>
#include <string>

namespace jobd {

/// Sends `state` ("READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=...",
/// several joined by '\n'). False if NOTIFY_SOCKET is unset or the send
/// failed (systemd then notices by its own timeouts).
bool sd_notify(const std::string& state);

/// How often to send WATCHDOG=1: half of WATCHDOG_USEC, when it is set
/// for this process (WATCHDOG_PID absent or ours); 0 = no watchdog.
int64_t sd_watchdog_ping_ms();

} // namespace jobd
