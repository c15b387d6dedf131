# Crisis resources, risk rules and events arrive with the crisis issue. Until then the
# "Get help now" page shows each region's emergency number from accounts.Region.
