-- The intake's repeat-caller hint: a caller's earlier orders by the phone they gave.
CREATE INDEX requesters_phone ON requesters (phone);
