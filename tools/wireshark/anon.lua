-- Wireshark dissector for the anonGateway / anonclient protocol (docs/PROTOCOL.md).
--
-- Every datagram starts with a 12-byte big-endian header: sequence number, acknowledgment number,
-- and a flags word whose low three bits are ACK (0x4), SYN (0x2) and FIN (0x1). The other 29 bits
-- are reserved: sent as zero, so a non-zero value is flagged. What follows is page content.
--
-- Use:   wireshark -X lua_script:tools/wireshark/anon.lua -o anon.port:30000 capture.pcapng
--        tshark    -X lua_script:tools/wireshark/anon.lua -o anon.port:30000 -r capture.pcapng
-- or copy the file into Wireshark's personal Lua plugins folder and set the port under
-- Preferences > Protocols > ANON. "Decode As..." > ANON works on any other port too.

local anon = Proto("anon", "anonGateway command-page protocol")

local HEADER_SIZE = 12
local FLAG_ACK = 0x4
local FLAG_SYN = 0x2
local FLAG_FIN = 0x1

local f_seq = ProtoField.uint32("anon.seq", "Sequence number", base.DEC)
local f_ack = ProtoField.uint32("anon.ack", "Acknowledgment number", base.DEC)
local f_flags = ProtoField.uint32("anon.flags", "Flags", base.HEX)
local f_flag_ack = ProtoField.bool("anon.flags.ack", "ACK", 32, nil, FLAG_ACK)
local f_flag_syn = ProtoField.bool("anon.flags.syn", "SYN", 32, nil, FLAG_SYN)
local f_flag_fin = ProtoField.bool("anon.flags.fin", "FIN", 32, nil, FLAG_FIN)
local f_reserved = ProtoField.uint32("anon.flags.reserved", "Reserved bits", base.HEX)
local f_len = ProtoField.uint32("anon.len", "Payload length", base.DEC)
local f_payload = ProtoField.bytes("anon.payload", "Payload")
local f_first_line = ProtoField.string("anon.first_line", "First line of the page")

anon.fields = { f_seq, f_ack, f_flags, f_flag_ack, f_flag_syn, f_flag_fin, f_reserved, f_len, f_payload, f_first_line }

local e_reserved = ProtoExpert.new("anon.reserved_set", "Reserved flag bits set (a conforming peer sends them as zero)",
    expert.group.PROTOCOL, expert.severity.WARN)
local e_runt = ProtoExpert.new("anon.runt", "Shorter than the 12-byte header: the receiver drops it",
    expert.group.MALFORMED, expert.severity.ERROR)
anon.experts = { e_reserved, e_runt }

anon.prefs.port = Pref.uint("UDP port", 30000, "The gateway's UDP port (anonGateway -p)")

-- The page starts in the segment right after the gateway's SYN|ACK: sequence number ISN + 1.
-- The gateway's ISN is remembered per direction of each conversation, in the order packets are
-- dissected (which is capture order on the first pass).
local gateway_isn = {}

local function direction_key(pinfo)
    return tostring(pinfo.src) .. ":" .. tostring(pinfo.src_port) .. ">" .. tostring(pinfo.dst) .. ":" .. tostring(pinfo.dst_port)
end

local function first_line(payload)
    local text = payload:raw()
    local line = text:match("^([^\r\n]*)")
    if line == nil then
        return nil
    end
    return line:match("^%s*(.-)%s*$")
end

function anon.init()
    gateway_isn = {}
end

function anon.dissector(buffer, pinfo, tree)
    local length = buffer:len()
    pinfo.cols.protocol = "ANON"
    local subtree = tree:add(anon, buffer(), "anon protocol")

    if length < HEADER_SIZE then
        subtree:add_proto_expert_info(e_runt)
        pinfo.cols.info = string.format("Runt datagram (%d bytes)", length)
        return length
    end

    local seq = buffer(0, 4):uint()
    local ack = buffer(4, 4):uint()
    local flags = buffer(8, 4):uint()
    local payload_length = length - HEADER_SIZE

    subtree:add(f_seq, buffer(0, 4))
    subtree:add(f_ack, buffer(4, 4))
    local flags_tree = subtree:add(f_flags, buffer(8, 4))
    flags_tree:add(f_flag_ack, buffer(8, 4))
    flags_tree:add(f_flag_syn, buffer(8, 4))
    flags_tree:add(f_flag_fin, buffer(8, 4))
    -- Plain arithmetic rather than the bit library, whose results are signed 32-bit numbers.
    local control = flags % 8
    local reserved = flags - control
    local reserved_item = flags_tree:add(f_reserved, buffer(8, 4), reserved)
    if reserved ~= 0 then
        reserved_item:add_proto_expert_info(e_reserved)
    end
    subtree:add(f_len, payload_length):set_generated()

    local names = {}
    local has_ack = math.floor(control / FLAG_ACK) % 2 == 1
    local has_syn = math.floor(control / FLAG_SYN) % 2 == 1
    local has_fin = control % 2 == 1
    if has_ack then table.insert(names, "ACK") end
    if has_syn then table.insert(names, "SYN") end
    if has_fin then table.insert(names, "FIN") end

    local key = direction_key(pinfo)
    if has_syn and has_ack then
        gateway_isn[key] = seq
    end

    if payload_length > 0 then
        local payload = buffer(HEADER_SIZE, payload_length)
        subtree:add(f_payload, payload)
        local isn = gateway_isn[key]
        if isn ~= nil and seq == (isn + 1) % 4294967296 then
            local line = first_line(payload)
            if line ~= nil then
                subtree:add(f_first_line, payload, line)
            end
        end
    end

    pinfo.cols.info = string.format("%d \226\134\146 %d [%s] Seq=%d Ack=%d Len=%d",
        pinfo.src_port, pinfo.dst_port, table.concat(names, ", "), seq, ack, payload_length)
    subtree:append_text(string.format(", Seq: %d, Ack: %d, Len: %d", seq, ack, payload_length))
    return length
end

-- (Re)register on the configured port whenever the preference changes.
local registered_port = 0
function anon.prefs_changed()
    local udp = DissectorTable.get("udp.port")
    if registered_port ~= 0 then
        udp:remove(registered_port, anon)
    end
    registered_port = anon.prefs.port
    if registered_port ~= 0 then
        udp:add(registered_port, anon)
    end
end

registered_port = anon.prefs.port
DissectorTable.get("udp.port"):add(registered_port, anon)
DissectorTable.get("udp.port"):add_for_decode_as(anon)
