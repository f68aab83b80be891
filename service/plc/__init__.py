"""PLC protocol servers (OPC UA, Modbus TCP): adapters over the one reject stream."""
