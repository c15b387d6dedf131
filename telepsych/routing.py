"""Every websocket route of the project, gathered from each app's routing.py."""

from crisis.routing import websocket_urlpatterns as crisis_routes
from sessions.routing import websocket_urlpatterns as session_routes

websocket_urlpatterns = [*session_routes, *crisis_routes]
