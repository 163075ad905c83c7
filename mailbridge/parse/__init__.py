"""Parsing: raw bytes → decoded headers, bodies, attachments, and the articles they carry."""
